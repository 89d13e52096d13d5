import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe } from 'vitest';
import type { ChatClient, Conversation } from '../../harness/drivers/driver.ts';
import { expectMember, expectMessage } from '../../harness/scenario/expect.ts';
import { orderViolations, sameSequence, type RoomView, type SentMessage } from '../../harness/scenario/room-order.ts';
import { scenario, type Session } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/** Messages each of the two senders fires. */
const perSender = 20;
/** How long both servers get to show every message in the room's history. */
const settleMs = 15_000;

/** Sends `perSender` numbered messages one after another, noting what the sender had received before each. */
async function fire(client: ChatClient, room: Conversation, label: string, sent: SentMessage[]): Promise<void> {
  const me = client.account.address;
  for (let i = 1; i <= perSender; i++) {
    const body = `${label} ${i}/${perSender}: åäö`;
    const seenBefore = client.messages(room).filter((m) => m.sender !== me).map((m) => m.body);
    sent.push({ sender: me, body, seenBefore });
    await client.send(room, body);
  }
}

/** This participant's view of the run's messages, in the order its server presents the room. */
async function viewOf(client: ChatClient, room: Conversation, tag: string): Promise<RoomView> {
  const bodies = (await client.history(room)).map((m) => m.body).filter((body) => body.startsWith(tag));
  return { who: client.account.address, bodies };
}

/** Polls both histories until each holds every sent message (or the bound passes), then lets duplicates surface. */
async function settledViews(s: Session, participants: Array<[ChatClient, Conversation]>, tag: string, expected: number): Promise<RoomView[]> {
  const deadline = Date.now() + settleMs;
  let views = await Promise.all(participants.map(([client, room]) => viewOf(client, room, tag)));
  while (views.some((v) => new Set(v.bodies).size < expected) && Date.now() < deadline) {
    await sleep(500);
    views = await Promise.all(participants.map(([client, room]) => viewOf(client, room, tag)));
  }
  await sleep(1500);
  views = await Promise.all(participants.map(([client, room]) => viewOf(client, room, tag)));
  for (const view of views) s.note(`view of ${view.who} (${view.bodies.length}): ${view.bodies.map((b) => b.slice(tag.length + 1).split(':')[0]).join(' | ')}`);
  return views;
}

describe('FED-ROOM / FED-INTEGRITY: both organisations send into one room at the same time', () => {
  scenario(`alice (org-a) and bob (org-b) each fire ${perSender} messages into alice's room at the same time; both see all ${2 * perSender}, once each, in a consistent order`, {
    requirements: ['FED-ROOM', 'FED-INTEGRITY'],
    interop: true,
    clause: {
      matrix: 'Server-Server API §"Room versions" / event graph: events created concurrently on two servers fork the graph (several prev_events / forward extremities) and every server merges the same graph; the room\'s order is that partial order (an event comes after every event it descends from), and Client-Server API §"Syncing" / GET /rooms/{roomId}/messages present it; each PDU is accepted once (Server-Server API §"Transactions").',
      xmpp: 'XEP-0045 §7.4 "Sending a Message to All Occupants": the room reflects each message to all occupants, the sender included; RFC 6120 §10.1 "In-Order Processing": stanzas from one entity are delivered in the order sent, so every occupant receives the one sequence the room produced.',
    },
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-concurrency');
    const bobRoom = await bob.joinRoom(ref);
    await expectMember(alice, aliceRoom, bob);
    await expectMember(bob, bobRoom, alice);

    const tag = `[${randomBytes(3).toString('hex')}]`;
    const sent: SentMessage[] = [];
    await Promise.all([fire(alice, aliceRoom, `${tag} alice`, sent), fire(bob, bobRoom, `${tag} bob`, sent)]);
    await expectMessage(bob, bobRoom, { from: alice, body: `${tag} alice ${perSender}/${perSender}: åäö` });
    await expectMessage(alice, aliceRoom, { from: bob, body: `${tag} bob ${perSender}/${perSender}: åäö` });

    const views = await settledViews(s, [[alice, aliceRoom], [bob, bobRoom]], tag, sent.length);
    // XMPP: the MUC is the room's one ordering point, so both occupants must see one sequence. Matrix: servers
    // may order concurrent events differently; each view must still respect what happened before what.
    const identicalOrder = s.protocol === 'xmpp';
    s.note(`${sent.filter((m) => m.seenBefore.length > 0).length} of ${sent.length} messages were sent after their sender had received some of the other's; `
      + `the views are ${sameSequence(views) ? 'the same sequence' : 'different linearisations'}${identicalOrder ? ' (required)' : ' (allowed for concurrent events)'}`);
    const problems = orderViolations(sent, views, { identicalOrder });
    if (problems.length > 0) {
      throw new ConformanceFailure(`after concurrent sends into ${ref}: ${problems.join('; ')}`);
    }
  });
});
