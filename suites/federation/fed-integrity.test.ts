import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect } from 'vitest';
import { emoji, longBody, swedish } from '../../fixtures/content/messages.ts';
import type { ChatClient, Conversation } from '../../harness/drivers/driver.ts';
import { expectMessage } from '../../harness/scenario/expect.ts';
import { scenario } from '../../harness/scenario/scenario.ts';

/** The bodies of one integrity burst: numbered so order and loss show, with the hard characters. */
function burst(label: string): string[] {
  return [
    `${label} 1: ${swedish}`,
    `${label} 2: ${emoji}`,
    `${label} 3: ${longBody(4000)}`,
    ...Array.from({ length: 12 }, (_, i) => `${label} ${i + 4}: ÅÄÖ åäö nr ${i + 4}`),
    `${label} 16: sista — ${swedish} ${emoji}`,
  ];
}

/** Sends the burst in order, waits for the last one, then lets duplicates surface before comparing. */
async function sendAndCompare(sender: ChatClient, from: Conversation, receiver: ChatClient, to: Conversation, bodies: string[]): Promise<void> {
  for (const body of bodies) await sender.send(from, body);
  await expectMessage(receiver, to, { from: sender, body: bodies.at(-1) ?? '' });
  await sleep(1500);
  const received = receiver.messages(to).filter((m) => m.sender === sender.account.address).map((m) => m.body);
  // Complete, once, in send order, byte-exact: the received list must equal the sent list.
  expect(received.map((b) => b.length), 'lengths of the received bodies, in arrival order').toEqual(bodies.map((b) => b.length));
  expect(received, 'received bodies, in arrival order').toEqual(bodies);
  expect(Buffer.from(received.join('\n'), 'utf8').equals(Buffer.from(bodies.join('\n'), 'utf8')), 'UTF-8 bytes identical').toBe(true);
}

describe('FED-INTEGRITY: messages cross federation complete, once, in order and byte-exact', () => {
  const clause = {
    matrix: 'Server-Server API §4 "Transactions" and the event graph (Room versions, §"Event graphs"): each PDU delivered once and ordered; Client-Server API §11.2 "m.room.message" body is a UTF-8 string delivered unchanged.',
    xmpp: 'RFC 6120 §10.1 "In-order processing": a server MUST deliver stanzas from one entity in the order received; RFC 6120 §11.6: XML is UTF-8 and character data must be delivered unchanged.',
  };

  scenario('a 1:1 burst from org-a to org-b with åäö, emoji and a 4 000-character body arrives exactly as sent', {
    requirements: ['FED-INTEGRITY'], clause, interop: true,
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const aliceToBob = await alice.openDirect(bob.account.address);
    const bobToAlice = await bob.acceptDirect(alice.account.address);
    await sendAndCompare(alice, aliceToBob, bob, bobToAlice, burst('DM'));
  });

  scenario('a room burst from an org-b member arrives at org-a exactly as sent', {
    requirements: ['FED-INTEGRITY'], clause, interop: true,
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-integrity');
    const bobRoom = await bob.joinRoom(ref);
    await sendAndCompare(bob, bobRoom, alice, aliceRoom, burst('Rum'));
  });
});
