import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import type { ChatClient, Conversation, Profile } from '../../harness/drivers/driver.ts';
import { operatorErasesAccount } from '../../harness/provisioning/operator.ts';
import { expectMember, expectMessage } from '../../harness/scenario/expect.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/**
 * RET-ERASE: erin (org-a) has a display name and has written in alice's room, where bob (org-b) reads along. The
 * operator closes erin's account with erasure. Then people who were not there — carol at org-a, dave at org-b — join
 * the room and read its history, and everyone looks erin up.
 *
 * What decides: what org-a gives new viewers (the hosting server holds the person's data and answers for it, to its
 * own users and over federation). org-b's copy of the room as its own new user dave sees it is evidence: the Matrix
 * clause lets servers that already had the events keep them, so it is reported, not judged.
 */

const clause = {
  matrix: 'Client-Server API §"Account deactivation" (POST /account/deactivate, `erase`): "Erasure means that any users '
    + '(or servers) which join the room after the erasure request are served redacted copies of the events sent by this '
    + 'account. Users which had visibility on the event prior to the erasure are still able to see unredacted copies. '
    + 'Servers which had visibility on the event prior to the erasure may still have a copy" (Synapse: the same through '
    + 'its admin API POST /_synapse/admin/v1/deactivate/{userId} {"erase": true}, which also removes display name and avatar).',
  xmpp: 'XEP-0077 (In-Band Registration) §3.2 "Entity Cancels an Existing Registration" / the operator\'s account '
    + 'deletion: the server removes the account and the data it keeps for it (XEP-0054 vCard); XEP-0045 §7.2.15 '
    + '"Discussion History" is what a new occupant of the room receives.',
};

/** How long a new viewer's history is given to show the message written after erin's (the last in the room). */
const historyWaitMs = 10_000;

interface NewViewer {
  org: string;
  address: string;
  /** Whether erin's original text was in what the new viewer got of the room's history. */
  sawText: boolean;
  sawWitness: boolean;
  profile: Profile | string;
  member?: Record<string, unknown>;
}

/** The history a person who joins now gets, read until the last message before the erasure is in it (bounded). */
async function joinAndRead(viewer: ChatClient, ref: string, texts: { erased: string; witness: string }): Promise<{ room: Conversation; sawText: boolean; sawWitness: boolean }> {
  const room = await viewer.joinRoom(ref);
  const until = Date.now() + historyWaitMs;
  for (;;) {
    const bodies = (await viewer.history(room)).map((m) => m.body);
    const sawWitness = bodies.some((b) => b.includes(texts.witness));
    if (sawWitness || Date.now() > until) return { room, sawWitness, sawText: bodies.some((b) => b.includes(texts.erased)) };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** A profile lookup; an error answer (the account is gone) is an answer too, kept as its text. */
async function profileOf(viewer: ChatClient, address: string): Promise<Profile | string> {
  try {
    return await viewer.lookupProfile(address);
  } catch (error) {
    if (error instanceof ConformanceFailure) return `refused: ${error.message.split('\n')[0]}`;
    throw error;
  }
}

const shows = (profile: Profile | string, name: string): boolean => typeof profile !== 'string' && profile.displayName === name;
const describeProfile = (profile: Profile | string): string => typeof profile === 'string' ? profile : JSON.stringify(profile);

describe('RET-ERASE: an account closed with erasure loses its profile data and its messages are hidden from new viewers', () => {
  scenario('the operator erases erin\'s account; carol (org-a) and dave (org-b), joining afterwards, get neither her messages nor her name', {
    requirements: ['RET-ERASE'],
    clause,
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const erin = await s.user('org-a', 'erin');
    const bob = await s.user('org-b', 'bob');
    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-erase');
    const erinRoom = await erin.joinRoom(ref);
    const bobRoom = await bob.joinRoom(ref);
    await expectMember(alice, aliceRoom, bob);

    const token = randomBytes(4).toString('hex');
    const name = `Erin Raderas ${token}`;
    const texts = { erased: `Personuppgift fran erin ${token}`, witness: `Sista meddelandet fore raderingen ${token}` };
    await erin.setDisplayName(name);
    await erin.send(erinRoom, texts.erased);
    await expectMessage(bob, bobRoom, { from: erin, body: texts.erased });
    await alice.send(aliceRoom, texts.witness);
    await expectMessage(bob, bobRoom, { from: alice, body: texts.witness });
    const before = await profileOf(alice, erin.account.address);
    s.note(`before the erasure: alice looks erin up: ${describeProfile(before)}`);
    if (!shows(before, name)) throw new Error(`erin's display name did not reach her own server's profile (${describeProfile(before)}): the check after erasure would prove nothing`);

    await erin.close();
    for (const answer of await operatorErasesAccount(s.lab.organisations['org-a'], erin.account.address, erin.account.password)) {
      s.note(`operator: ${answer.command} → ${answer.status ?? ''} ${answer.answer}`);
    }

    const viewers: NewViewer[] = [];
    for (const [org, person] of [['org-a', 'carol'], ['org-b', 'dave']] as const) {
      const viewer = await s.user(org, person);
      const { room, sawText, sawWitness } = await joinAndRead(viewer, ref, texts);
      const member = await viewer.memberRecord(room, erin.account.address).catch(() => undefined);
      viewers.push({ org, address: viewer.account.address, sawText, sawWitness, profile: await profileOf(viewer, erin.account.address), ...(member ? { member } : {}) });
    }
    const bobLooksUp = await profileOf(bob, erin.account.address);
    for (const v of viewers) {
      s.note(`${v.org}: new viewer ${v.address} ${v.sawWitness ? 'got the room history up to the erasure' : `did not get the last message before the erasure within ${historyWaitMs} ms`}; erin's text ${v.sawText ? 'WAS' : 'was not'} in it; profile lookup of erin: ${describeProfile(v.profile)}; erin's membership record: ${v.member ? JSON.stringify(v.member) : 'none'}`);
    }
    s.note(`org-b: bob (in the room before the erasure) looks erin up: ${describeProfile(bobLooksUp)}`);

    const [carol, dave] = viewers as [NewViewer, NewViewer];
    if (!carol.sawWitness) throw new Error(`carol at org-a did not get the room's history within ${historyWaitMs} ms: whether erin's message is hidden cannot be told`);
    const failures: string[] = [];
    if (carol.sawText) failures.push('org-a gives carol, who joined after the erasure, erin\'s original message');
    if (shows(carol.profile, name)) failures.push('org-a still gives erin\'s display name to carol');
    if (shows(dave.profile, name) || shows(bobLooksUp, name)) failures.push('org-b still shows erin\'s display name (its profile lookup of erin)');
    const memberName = carol.member?.displayname ?? carol.member?.nick;
    if (memberName === name) failures.push('erin\'s display name is still in her membership record of the room, as carol sees it');
    if (dave.sawText) {
      s.note(s.protocol === 'matrix'
        ? 'org-b: dave, new at org-b, still gets erin\'s message from org-b\'s copy (the Matrix clause allows a server that had the events to keep them)'
        : 'org-b: dave, new at org-b, gets erin\'s message from the room itself (hosted at org-a)');
    }
    if (failures.length) throw new ConformanceFailure(failures.join('; '));
  });
});
