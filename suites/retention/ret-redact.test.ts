import { randomBytes } from 'node:crypto';
import { describe, vi } from 'vitest';
import type { OrgName } from '../../harness/lab/types.ts';
import { storedContent, type StoredContent } from '../../harness/probes/stored-content.ts';
import { defaultWaitMs } from '../../harness/drivers/driver.ts';
import { expectMember, expectMessage } from '../../harness/scenario/expect.ts';
import { scenario, type Session } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, NotTestable, ProductLacks } from '../../harness/verdict/failure.ts';
import { reconfiguredForThisFile } from './reconfigure.ts';

const reconfigure = reconfiguredForThisFile();

/**
 * RET-REDACT: alice (org-a) deletes a message in her room, which bob (org-b) has joined; both servers' storage is then
 * read from the outside until the original text is gone or the deadline passes.
 *
 * What decides: the storage's own view — the live rows of the server's SQLite databases (WAL included) and its other
 * store files (Prosody's archive files, ejabberd's tables), i.e. what the server's storage would still give anyone
 * who reads it. Bytes a database left in free pages or old WAL frames after the rows changed are reported as residue
 * (they matter to anyone recovering a disk) but do not decide: they are overwritten as the database is reused, and
 * removing them is the storage engine's housekeeping (VACUUM, secure_delete), not the chat server's deletion.
 */

/** The lab's period for redacted content (Synapse `redaction_retention_period`): seconds rather than 7 days. */
const periodSeconds = 10;
/** On top of the period, the clean-up cadence the clause allows: Synapse censors redactions in a job every 5 minutes. */
const cleanupGraceSeconds = 5 * 60 + 30;
/** Products with no period to configure: they must have removed the content by then (their own behaviour). */
const noPeriodGraceSeconds = 30;
const pollEveryMs = 5_000;
// Two restarts, the exchange and the wait for Synapse's clean-up job: more than the suite's usual two minutes.
vi.setConfig({ testTimeout: (periodSeconds + cleanupGraceSeconds + 150) * 1000 });

const clause = {
  matrix: 'Client-Server API §"Redactions": "Upon receipt of a redaction event, the server must strip off any keys not in '
    + 'the following list" (the content of an m.room.message loses body and every other key); Synapse keeps the original '
    + 'for `redaction_retention_period` (default 7 days) and then replaces it by the pruned event in its database.',
  xmpp: 'XEP-0424 (Message Retraction) §1: a retraction is "an unenforceable request for such removal"; an archiving '
    + 'service (XEP-0313) that honours it replaces the retracted message in its archive by a <retracted/> tombstone.',
};

type Org = Extract<OrgName, 'org-a' | 'org-b'>;

interface Watch {
  /** ms after the retraction at which the deleted text was no longer in the org's live storage. */
  goneAfterMs?: number;
  /** Per place the text was in right after the deletion: ms after the deletion at which it no longer was. */
  placeGoneAfterMs: Record<string, number>;
  first: StoredContent;
  /** ms after the deletion of the first look. */
  firstAfterMs: number;
  last: StoredContent;
}

/** The settings that make the deletion observable: Matrix a short redaction period; XMPP an archive that keeps messages. */
async function configure(s: Session): Promise<{ periodSeconds?: number; settings: string }> {
  const settings = s.protocol === 'matrix' ? { redactionRetentionSeconds: periodSeconds } : { messageArchive: true };
  try {
    await reconfigure(s, 'org-a', settings);
    await reconfigure(s, 'org-b', settings);
    return s.protocol === 'matrix'
      ? { periodSeconds, settings: `redacted content kept for ${periodSeconds} s (redaction_retention_period) on both servers` }
      : { settings: 'message archives on (XEP-0313, rooms included, no expiry) on both servers' };
  } catch (error) {
    if (!(error instanceof ProductLacks)) throw error;
    return { settings: `the product's own configuration (${error.message})` };
  }
}

function storeOf(s: Session, org: Org): string {
  const dir = s.lab.organisations[org].storeDir;
  if (!dir) throw new NotTestable(`the lab gives no access to ${org}'s storage (no storeDir): what the server holds cannot be read from the outside`);
  return dir;
}

describe('RET-REDACT: a deleted message\'s content is removed from server storage, not just hidden', () => {
  scenario('alice deletes a message in her room; within the configured period its text is gone from the storage of org-a and of org-b (bob\'s copy)', {
    requirements: ['RET-REDACT'],
    clause,
  }, async (s) => {
    const configured = await configure(s);
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-redact');
    const bobRoom = await bob.joinRoom(ref);
    await expectMember(alice, aliceRoom, bob);

    const token = randomBytes(4).toString('hex');
    const witness = `Bevarat meddelande ${token}`;
    const doomed = `Raderat meddelande ${token}`;
    await alice.send(aliceRoom, witness);
    await expectMessage(bob, bobRoom, { from: alice, body: witness });
    const doomedId = await alice.send(aliceRoom, doomed);
    await expectMessage(bob, bobRoom, { from: alice, body: doomed });
    await alice.retract(aliceRoom, doomedId);
    const retractedAt = Date.now();
    // The deletion has reached bob. Any retraction of alice's counts: with an archive the XMPP room refers to the
    // message by its stanza-id, which the receiving side may not map back (storage, not that mapping, is judged here).
    await bob.waitFor((e) => e.kind === 'retraction' && e.conversation === bobRoom.id && e.sender === alice.account.address,
      { description: `alice's deletion of her message ${doomedId}`, timeoutMs: defaultWaitMs });
    const watches = {} as Record<Org, Watch>;
    const look = async (org: Org): Promise<void> => {
      const now = Date.now();
      const seen = await storedContent(storeOf(s, org), doomed);
      const watch = watches[org] ??= { first: seen, firstAfterMs: now - retractedAt, last: seen, placeGoneAfterMs: {} };
      watch.last = seen;
      for (const place of watch.first.live) if (!seen.live.includes(place)) watch.placeGoneAfterMs[place] ??= now - retractedAt;
      if (!seen.live.length && watch.goneAfterMs === undefined) watch.goneAfterMs = now - retractedAt;
    };
    for (const org of ['org-a', 'org-b'] as const) await look(org);

    // Only storage that holds the message that was not deleted can show a deletion. XMPP rooms live on org-a only.
    const orgs: Org[] = [];
    for (const org of ['org-a', 'org-b'] as const) {
      const kept = await storedContent(storeOf(s, org), witness);
      if (kept.live.length) orgs.push(org);
      else s.note(`${org}: the message that was not deleted is not in its storage either (${kept.residue.length ? `only residue in ${kept.residue.join(', ')}` : 'nowhere'}): this server keeps no copy of the room's messages`);
    }
    if (!orgs.includes('org-a')) throw new NotTestable('org-a keeps no copy of room messages on disk in this configuration (the message that was not deleted is not in its storage): there is nothing a deletion could remove');

    const graceSeconds = configured.periodSeconds === undefined ? noPeriodGraceSeconds : configured.periodSeconds + cleanupGraceSeconds;
    const deadline = retractedAt + graceSeconds * 1000;
    for (;;) {
      if (orgs.every((org) => watches[org].goneAfterMs !== undefined) || Date.now() + pollEveryMs > deadline) break;
      await sleep(pollEveryMs);
      for (const org of orgs) await look(org);
    }

    s.note(`configured: ${configured.settings}; deadline: ${graceSeconds} s after the deletion${configured.periodSeconds === undefined ? ' (no period to configure)' : ` (the period plus ${cleanupGraceSeconds} s for Synapse's 5-minute clean-up job)`}; storage read every ${pollEveryMs / 1000} s`);
    for (const org of orgs) {
      const w = watches[org];
      s.note(`${org}: ${w.firstAfterMs} ms after the deletion the text was in ${w.first.live.join(', ') || 'no live storage'}; ${w.goneAfterMs === undefined ? `still live ${Date.now() - retractedAt} ms after the deletion in ${w.last.live.join(', ')}` : `gone from live storage ${w.goneAfterMs} ms after the deletion`}`);
      const gonePlaces = Object.entries(w.placeGoneAfterMs).map(([place, ms]) => `${place} after ${ms} ms`);
      if (gonePlaces.length) s.note(`${org}: the text left ${gonePlaces.join(', ')}`);
      if (w.last.residue.length) s.note(`${org}: residue — the deleted text's bytes remain in ${w.last.residue.join(', ')} (free pages / old WAL frames no row gives any more; recoverable from the disk until overwritten)`);
    }
    const kept = orgs.filter((org) => watches[org].goneAfterMs === undefined);
    if (kept.length) {
      throw new ConformanceFailure(`the deleted message's text is still in the storage of ${kept.map((org) => `${org} (${watches[org].last.live.join(', ')})`).join(' and ')} ${graceSeconds} s after the deletion`);
    }
  });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
