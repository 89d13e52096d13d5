import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import type { ChatClient, Conversation, ReadPathAnswer, SentMessage } from '../../harness/drivers/driver.ts';
import { expectMember, expectMessage } from '../../harness/scenario/expect.ts';
import { scenario, type Session } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, NotTestable, ifLacking } from '../../harness/verdict/failure.ts';
import { reconfiguredForThisFile } from './reconfigure.ts';

const reconfigure = reconfiguredForThisFile();

/**
 * Retention (RET-POLICY, RET-KEEP, RET-FEDERATED): both organisations run with a message lifetime of a few seconds;
 * alice (org-a) and bob (org-b) write in alice's room before and after a point half a lifetime apart, and every read
 * path of both servers is asked, once a second from the first expiry on, which of the messages it still gives.
 * One observation (about 50 s) serves the three requirements; each scenario judges its part of it.
 */

/** The lab lifetime: long enough for two rounds of cross-server delivery, short enough for CI. */
const lifetimeSeconds = 30;
/** The second batch is sent this long after the first, so the first expires while the second still lives. */
const batchGapMs = (lifetimeSeconds * 1000) / 2;
/** Read-back stops this long before the second batch expires, so anything gone then was deleted early. */
const keepMarginMs = 3_000;
const pollEveryMs = 1_000;

const retentionClause = {
  matrix: 'Matrix "Message retention policies" (MSC1763, as Synapse implements it): m.room.retention max_lifetime (ms) — '
    + 'events older than it are no longer served to clients and are purged by the server\'s purge jobs; rooms without '
    + 'the state event take the server\'s default policy. Client-Server API §"Room history": /messages, '
    + 'GET /rooms/{roomId}/event/{eventId}, /search and /sync are the read paths.',
  xmpp: 'XEP-0313 (Message Archive Management) §4 "Querying an archive": the archive returns the stored messages; its '
    + 'retention is the server\'s policy (§8 "Business Considerations" / Prosody archive_expires_after, muc_log_expires_after).',
};

type Org = 'org-a' | 'org-b';

interface Sent extends SentMessage {
  sentAt: number;
}

interface OrgReading {
  reader: string;
  /** Per read path: ms after the last older message's expiry at which none of them was readable any more. */
  goneAfterMs: Record<string, number | undefined>;
  /** The last read-back, for RET-KEEP. */
  last: ReadPathAnswer[];
  /** Read paths that gave every message before expiry (only these can show a deletion). */
  paths: string[];
}

interface Observation {
  older: Sent[];
  younger: Sent[];
  olderExpiredAt: number;
  stoppedAt: number;
  readings: Record<Org, OrgReading>;
  settings: string;
}

let observed: Promise<Observation> | undefined;

/** The one observation this file's scenarios share (made by whichever runs first). */
function observation(s: Session): Promise<Observation> {
  observed ??= observe(s);
  return observed;
}

async function observe(s: Session): Promise<Observation> {
  // Both servers get the lifetime; org-b decides what it does with its copy of org-a's room (RET-FEDERATED).
  await reconfigure(s, 'org-a', { retentionSeconds: lifetimeSeconds });
  await reconfigure(s, 'org-b', { retentionSeconds: lifetimeSeconds });
  const alice = await s.user('org-a', 'alice');
  const bob = await s.user('org-b', 'bob');
  // The server-wide lifetime only: Synapse clamps a room's own m.room.retention to allowed_lifetime_max when purging but
  // not when serving events, and never purges a room's newest event, so a per-room lifetime needs its own scenario.
  const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-retention');
  const bobRoom = await bob.joinRoom(ref);
  await expectMember(alice, aliceRoom, bob);

  const token = randomBytes(3).toString('hex');
  const exchange = async (batch: string): Promise<Sent[]> => {
    const fromAlice = await sendSeen(alice, aliceRoom, bob, bobRoom, `Arkivpost ${batch} ${token} fran alice`);
    const fromBob = await sendSeen(bob, bobRoom, alice, aliceRoom, `Arkivpost ${batch} ${token} fran bob`);
    return [fromAlice, fromBob];
  };
  const older = await exchange('aldre');
  const readers: Record<Org, [ChatClient, Conversation]> = { 'org-a': [alice, aliceRoom], 'org-b': [bob, bobRoom] };
  // Right after sending, well inside any lifetime: the read paths that give the messages at all (only these can
  // show a deletion). A server that deletes too early (RET-KEEP) is caught on the younger batch.
  const readings = {} as Record<Org, OrgReading>;
  for (const org of ['org-a', 'org-b'] as const) {
    const [client, room] = readers[org];
    const before = await client.readBack(room, older);
    const paths = before.filter((p) => p.readable.length === older.length).map((p) => p.path);
    for (const p of before.filter((b) => !paths.includes(b.path))) s.note(`${org}: ${p.path} gave ${p.readable.length} of ${older.length} messages right after they were sent; not used`);
    readings[org] = { reader: client.account.address, goneAfterMs: {}, last: before, paths };
  }
  await sleepUntil(older[0]!.sentAt + batchGapMs);
  const younger = await exchange('yngre');
  const all = [...older, ...younger];

  const olderExpiredAt = Math.max(...older.map((m) => m.sentAt)) + lifetimeSeconds * 1000;
  const stopAt = Math.min(...younger.map((m) => m.sentAt)) + lifetimeSeconds * 1000 - keepMarginMs;
  await sleepUntil(olderExpiredAt);
  const olderIds = new Set(older.map((m) => m.id));
  for (;;) {
    const now = Date.now();
    for (const org of ['org-a', 'org-b'] as const) {
      const [client, room] = readers[org];
      const reading = readings[org];
      reading.last = await client.readBack(room, all);
      for (const path of reading.paths) {
        const stillThere = reading.last.find((p) => p.path === path)?.readable.some((id) => olderIds.has(id)) ?? true;
        if (!stillThere && reading.goneAfterMs[path] === undefined) reading.goneAfterMs[path] = now - olderExpiredAt;
      }
    }
    const allGone = Object.values(readings).every((r) => r.paths.every((p) => r.goneAfterMs[p] !== undefined));
    if (allGone || Date.now() + pollEveryMs > stopAt) break;
    await sleep(pollEveryMs);
  }
  return {
    older, younger, olderExpiredAt, stoppedAt: Date.now(), readings,
    settings: `lifetime ${lifetimeSeconds} s server-wide on both servers (the room sets none of its own); read back every ${pollEveryMs} ms from the older messages' expiry until all were gone or ${keepMarginMs} ms before the younger ones' expiry`,
  };
}

/** `from` sends `body`; resolves once `to` received it, with the send time. */
async function sendSeen(from: ChatClient, fromRoom: Conversation, to: ChatClient, toRoom: Conversation, body: string): Promise<Sent> {
  const sentAt = Date.now();
  const id = await from.send(fromRoom, body);
  await expectMessage(to, toRoom, { from, body });
  return { id, body, sentAt };
}

/** The evidence of one organisation's reading. */
function describeReading(o: Observation, org: Org): string[] {
  const r = o.readings[org];
  return r.paths.map((path) => {
    const gone = r.goneAfterMs[path];
    const readable = r.last.find((p) => p.path === path)?.readable ?? [];
    const younger = o.younger.filter((m) => readable.includes(m.id)).length;
    return `${org} (${r.reader}) ${path}: older messages ${gone === undefined ? `still readable ${o.stoppedAt - o.olderExpiredAt} ms after expiry` : `gone ${gone} ms after expiry`}; younger ones readable at the end: ${younger} of ${o.younger.length}`;
  });
}

function noteObservation(s: Session, o: Observation, orgs: Org[]): void {
  s.note(`configured: ${o.settings}`);
  for (const org of orgs) for (const line of describeReading(o, org)) s.note(line);
}

/** Paths of `org` that still gave an older message at the end (none gone), and paths that lost a younger one. */
function verdicts(o: Observation, org: Org): { kept: string[]; lost: string[] } {
  const r = o.readings[org];
  const youngerIds = o.younger.map((m) => m.id);
  return {
    kept: r.paths.filter((p) => r.goneAfterMs[p] === undefined),
    lost: r.paths.filter((p) => !youngerIds.every((id) => r.last.find((a) => a.path === p)?.readable.includes(id))),
  };
}

/**
 * The observation, for requirements that presuppose retention: a product with no retention mechanism has nothing
 * to over-delete or to federate (RET-POLICY answers that it has none).
 */
function observationWithRetention(s: Session): Promise<Observation> {
  return ifLacking(() => observation(s), (why) => new NotTestable(`no retention to check: ${why} (RET-POLICY answers this)`));
}

function needPaths(o: Observation, org: Org): void {
  if (o.readings[org].paths.length === 0) throw new ConformanceFailure(`no read path of ${org} gave back the messages right after they were sent`);
}

describe('RET-POLICY: messages older than the lifetime disappear from every read path of the hosting server', () => {
  scenario(`alice's room at org-a has a ${lifetimeSeconds} s lifetime; her and bob's earlier messages are gone from every org-a read path after it`, {
    requirements: ['RET-POLICY'],
    clause: retentionClause,
  }, async (s) => {
    const o = await ifLacking(() => observation(s), (why) => new ConformanceFailure(`org-a cannot be given a message lifetime: ${why}`));
    noteObservation(s, o, ['org-a']);
    needPaths(o, 'org-a');
    const { kept } = verdicts(o, 'org-a');
    if (kept.length) throw new ConformanceFailure(`org-a still gives messages ${o.stoppedAt - o.olderExpiredAt} ms past their ${lifetimeSeconds} s lifetime through: ${kept.join(', ')}`);
  });
});

describe('RET-KEEP: messages younger than the lifetime are all still there', () => {
  scenario(`messages sent half a lifetime later in alice's room are all still readable at org-a when the older ones have expired`, {
    requirements: ['RET-KEEP'],
    clause: retentionClause,
  }, async (s) => {
    const o = await observationWithRetention(s);
    noteObservation(s, o, ['org-a']);
    needPaths(o, 'org-a');
    const { lost } = verdicts(o, 'org-a');
    if (lost.length) throw new ConformanceFailure(`org-a deleted messages younger than the ${lifetimeSeconds} s lifetime (at most ${o.stoppedAt - Math.min(...o.younger.map((m) => m.sentAt))} ms old): missing from ${lost.join(', ')}`);
  });
});

describe('RET-FEDERATED: the other organisation\'s server also removes its copy', () => {
  scenario(`bob at org-b, also with a ${lifetimeSeconds} s lifetime, reads alice's room afterwards: org-b no longer gives the expired messages, and still gives the younger ones`, {
    requirements: ['RET-FEDERATED'],
    clause: retentionClause,
  }, async (s) => {
    if (s.protocol === 'xmpp') throw new NotTestable('an XMPP room\'s archive lives only on the room\'s server; org-b\'s own copies of 1:1 conversations are ret-direct.test.ts\'s scenario');
    const o = await observationWithRetention(s);
    noteObservation(s, o, ['org-b']);
    needPaths(o, 'org-b');
    const { kept, lost } = verdicts(o, 'org-b');
    if (kept.length) throw new ConformanceFailure(`org-b still gives its copy of the expired messages ${o.stoppedAt - o.olderExpiredAt} ms past the ${lifetimeSeconds} s lifetime through: ${kept.join(', ')}`);
    if (lost.length) throw new ConformanceFailure(`org-b lost messages younger than the lifetime from: ${lost.join(', ')}`);
  });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const sleepUntil = (at: number): Promise<void> => sleep(Math.max(0, at - Date.now()));
