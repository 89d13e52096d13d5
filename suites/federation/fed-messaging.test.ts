import { describe } from 'vitest';
import type { ChatClient, Conversation } from '../../harness/drivers/driver.ts';
import { expectEdit, expectMember, expectMessage, expectReaction, expectRetraction } from '../../harness/scenario/expect.ts';
import { scenario, type Session } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/**
 * Messaging features across federation: alice (org-a) and bob (org-b) in a room hosted on org-a that bob
 * joined. What the receiving side checks is what its client parsed off the wire, so a server that strips
 * or mangles the relation / payload makes the test fail.
 */

interface Pair {
  alice: ChatClient;
  bob: ChatClient;
  aliceRoom: Conversation;
  bobRoom: Conversation;
  ref: string;
}

/** alice creates a room on org-a, bob from org-b joins it, and each sees the other in it. */
async function roomWithBob(s: Session, name: string): Promise<Pair> {
  const alice = await s.user('org-a', 'alice');
  const bob = await s.user('org-b', 'bob');
  const { conversation: aliceRoom, ref } = await alice.createRoom(name);
  const bobRoom = await bob.joinRoom(ref);
  await expectMember(alice, aliceRoom, bob);
  await expectMember(bob, bobRoom, alice);
  return { alice, bob, aliceRoom, bobRoom, ref };
}

describe('FED-EDIT: an edit of one\'s own message is seen as an edit by the other organisation', () => {
  scenario('alice at org-a edits a room message; bob at org-b sees it replaced, not a new message', {
    requirements: ['FED-EDIT'],
    interop: true,
    clause: {
      matrix: 'Client-Server API "Event replacements" (m.replace): a replacement event has "m.relates_to": {"rel_type": "m.replace", "event_id": <original>} and carries the new content in "m.new_content"; it travels as an ordinary PDU (Server-Server API "Transactions").',
      xmpp: 'XEP-0308 (Last Message Correction) §3 "Use Case": the correcting message carries <replace xmlns=\'urn:xmpp:message-correct:0\' id=\'…\'/> whose id is the id of the message being corrected, and replaces it in the recipient\'s view; §5 "Business Rules": in a MUC the correction must come from the same occupant.',
    },
  }, async (s) => {
    const { alice, bob, aliceRoom, bobRoom } = await roomWithBob(s, 'fedconf-edit');
    const original = 'Mötet börjar kl 14 i rum Ärlan.';
    const corrected = 'Mötet börjar kl 15 i rum Ärlan.';

    const aliceId = await alice.send(aliceRoom, original);
    const seen = await expectMessage(bob, bobRoom, { from: alice, body: original });

    await alice.edit(aliceRoom, aliceId, corrected);
    await expectEdit(bob, bobRoom, { from: alice, target: seen.id, body: corrected });
  });
});

describe('FED-DELETE: deleting one\'s own message removes it for the other organisation too', () => {
  const clause = {
    matrix: 'Client-Server API "Redactions": a client redacts with PUT /rooms/{roomId}/redact/{eventId}; the m.room.redaction event names the redacted event ("redacts") and every homeserver in the room strips the original\'s content on receipt (Server-Server API "Redactions").',
    xmpp: 'XEP-0424 (Message Retraction) 0.4 §3 "Use Case": the client sends <retract xmlns=\'urn:xmpp:message-retract:1\' id=\'…\'/> referring to the original by its XEP-0359 origin ID; "In the case of a group chat message […] instead of the origin ID, the XEP-0359 stanza ID that was assigned by the group chat SHOULD be used" (falling back to the message id where the MUC assigns none).',
  };

  scenario('alice at org-a deletes a room message; bob at org-b is told to remove exactly that message', {
    requirements: ['FED-DELETE'],
    interop: true,
    clause,
  }, async (s) => {
    const { alice, bob, aliceRoom, bobRoom } = await roomWithBob(s, 'fedconf-delete');
    const body = 'Personnummer 19121212-1212 skickades hit av misstag.';

    const aliceId = await alice.send(aliceRoom, body);
    const seen = await expectMessage(bob, bobRoom, { from: alice, body });

    await alice.retract(aliceRoom, aliceId);
    await expectRetraction(bob, bobRoom, { from: alice, target: seen.id });
  });

  scenario('after alice at org-a deletes a room message, a new session of bob at org-b reading the room does not get it back undeleted', {
    requirements: ['FED-DELETE'],
    interop: true,
    clause: {
      matrix: `${clause.matrix} A later /sync on bob's server therefore returns the event redacted (content stripped).`,
      xmpp: `${clause.xmpp} XEP-0424 "Business Rules": the archive MUST store the retraction, so a client catching up from history learns of it; XEP-0045 §7.2 "Entering a Room", "Discussion History": a joining occupant receives the room's recent messages.`,
    },
  }, async (s) => {
    const { alice, bob, aliceRoom, bobRoom, ref } = await roomWithBob(s, 'fedconf-delete-later');
    const body = 'Lösenordet till wifi är hemligt123.';

    const aliceId = await alice.send(aliceRoom, body);
    const seen = await expectMessage(bob, bobRoom, { from: alice, body });
    await alice.retract(aliceRoom, aliceId);
    await expectRetraction(bob, bobRoom, { from: alice, target: seen.id });

    // bob signs out and back in: what his server (and the room's history) now gives him.
    await bob.close();
    const later = await s.login(bob.account);
    const laterRoom = await later.joinRoom(ref);
    const marker = 'Markör: allt före detta är historik.';
    await alice.send(aliceRoom, marker);
    await expectMessage(later, laterRoom, { from: alice, body: marker });

    // The original may come back only stripped (Matrix: redacted by bob's server) or followed by its retraction.
    for (const copy of later.messages(laterRoom).filter((m) => m.sender === alice.account.address && m.body === body)) {
      await expectRetraction(later, laterRoom, { from: alice, target: copy.id, timeoutMs: 2_000 });
    }
  });
});

describe('FED-REACT: reactions cross federation', () => {
  scenario('bob at org-b reacts to alice\'s message and alice at org-a to bob\'s; each sees the other\'s reaction on the right message', {
    requirements: ['FED-REACT'],
    interop: true,
    clause: {
      matrix: 'Client-Server API "Event annotations and reactions": an m.reaction event with "m.relates_to": {"rel_type": "m.annotation", "event_id": <target>, "key": <emoji>}.',
      xmpp: 'XEP-0444 (Message Reactions) §3 "Use Case": a <reactions xmlns=\'urn:xmpp:reactions:0\' id=\'…\'> element with one <reaction/> per emoji; "The message is referred to by including its id or in MUCs its stanza-id as defined in XEP-0359 in the \'id\' attribute of the reactions element."',
    },
  }, async (s) => {
    const { alice, bob, aliceRoom, bobRoom } = await roomWithBob(s, 'fedconf-react');

    const aliceId = await alice.send(aliceRoom, 'Fika kl 15 på fredag?');
    const seenByBob = await expectMessage(bob, bobRoom, { from: alice, body: 'Fika kl 15 på fredag?' });
    await bob.react(bobRoom, seenByBob.id, '👍');
    await expectReaction(alice, aliceRoom, { from: bob, target: aliceId, key: '👍' });

    const bobId = await bob.send(bobRoom, 'Jag tar med kanelbullar.');
    const seenByAlice = await expectMessage(alice, aliceRoom, { from: bob, body: 'Jag tar med kanelbullar.' });
    await alice.react(aliceRoom, seenByAlice.id, '🎉');
    await expectReaction(bob, bobRoom, { from: alice, target: bobId, key: '🎉' });
  });
});

describe('FED-MENTION: @-mentioning a remote user reaches them as a mention', () => {
  scenario('alice at org-a mentions bob at org-b in a room message; bob receives it marked as mentioning him', {
    requirements: ['FED-MENTION'],
    interop: true,
    clause: {
      matrix: 'Client-Server API "User and room mentions": the m.mentions property lists mentioned users in "user_ids", and the body / formatted_body names them (a matrix.to permalink pill).',
      xmpp: 'XEP-0372 (References) §3.2 "Mentions": "Mentions are a reference to a user\'s bare JID, and have a type of \'mention\'" — <reference xmlns=\'urn:xmpp:reference:0\' type=\'mention\' uri=\'xmpp:<bare JID>\' begin end/> marking the name in the body (§3.1).',
    },
  }, async (s) => {
    const { alice, bob, aliceRoom, bobRoom } = await roomWithBob(s, 'fedconf-mention');
    const bobAddress = bob.account.address;
    const body = `Hej ${bobAddress}, kan du granska protokollet före mötet?`;

    await alice.send(aliceRoom, body, { mentions: [bobAddress] });
    const seen = await expectMessage(bob, bobRoom, { from: alice, body });
    if (!seen.mentions?.includes(bobAddress)) {
      throw new ConformanceFailure(`${bobAddress} received alice's message naming him, but not marked as a mention of him `
        + `(mentions on arrival: ${seen.mentions ? `[${seen.mentions.join(', ')}]` : 'none'})`, s.transcript());
    }
  });
});

describe('FED-THREAD: a reply threaded under a message stays threaded on the other side', () => {
  scenario('alice at org-a starts a thread and replies in it, bob at org-b replies in it too; each sees the replies under the root', {
    requirements: ['FED-THREAD'],
    interop: true,
    clause: {
      matrix: 'Client-Server API "Threading": a threaded reply has "m.relates_to": {"rel_type": "m.thread", "event_id": <thread root>} (with the m.in_reply_to fallback, "is_falling_back": true).',
      xmpp: 'XEP-0201 (Best Practices for Message Threads) §3.2 "New Threads": "If the <message/> stanza is written in direct reply to another <message/> stanza, then the ThreadID SHOULD be the value from the original <message/> stanza"; §4.2 "Groupchat Messages": the <thread/> element is carried with groupchat messages.',
    },
  }, async (s) => {
    const { alice, bob, aliceRoom, bobRoom } = await roomWithBob(s, 'fedconf-thread');

    const rootId = await alice.send(aliceRoom, 'Tråd: budget 2027');
    const rootAtBob = await expectMessage(bob, bobRoom, { from: alice, body: 'Tråd: budget 2027' });
    const unthreaded = 'Helt annan sak: lunch?';
    await alice.send(aliceRoom, unthreaded);
    const plain = await expectMessage(bob, bobRoom, { from: alice, body: unthreaded });

    await alice.send(aliceRoom, 'Förslaget ligger i delade mappen.', { threadRoot: rootId });
    const replyAtBob = await expectMessage(bob, bobRoom, { from: alice, body: 'Förslaget ligger i delade mappen.' });
    if (replyAtBob.thread !== rootAtBob.id) {
      throw new ConformanceFailure(`${bob.account.address} received alice's threaded reply ${replyAtBob.thread === undefined
        ? 'without any thread' : `in thread ${replyAtBob.thread}`}, not under the root ${rootAtBob.id}`, s.transcript());
    }
    if (plain.thread !== undefined) {
      throw new ConformanceFailure(`${bob.account.address} received alice's unthreaded message in thread ${plain.thread}`, s.transcript());
    }

    await bob.send(bobRoom, 'Tack, jag läser i kväll.', { threadRoot: rootAtBob.id });
    const replyAtAlice = await expectMessage(alice, aliceRoom, { from: bob, body: 'Tack, jag läser i kväll.' });
    const rootAtAlice = alice.messages(aliceRoom).find((m) => m.body === 'Tråd: budget 2027')?.id ?? rootId;
    if (replyAtAlice.thread !== rootId && replyAtAlice.thread !== rootAtAlice) {
      throw new ConformanceFailure(`${alice.account.address} received bob's threaded reply ${replyAtAlice.thread === undefined
        ? 'without any thread' : `in thread ${replyAtAlice.thread}`}, not under her root ${rootId}`, s.transcript());
    }
  });
});
