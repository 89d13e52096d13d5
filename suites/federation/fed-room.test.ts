import { describe } from 'vitest';
import { expectMember, expectMessage } from '../../harness/scenario/expect.ts';
import { scenario } from '../../harness/scenario/scenario.ts';

describe('FED-ROOM: a group room hosted by org-a with members from org-a and org-b', () => {
  scenario('alice creates a room on org-a, bob from org-b joins; both see each other and each other\'s messages', {
    requirements: ['FED-ROOM'],
    interop: true,
    clause: {
      matrix: 'Server-Server API §11.1 "Joining Rooms" (make_join / send_join): a homeserver joins a user to a room hosted elsewhere; Client-Server API §11.2 "Room membership".',
      xmpp: 'XEP-0045 §7.2 "Entering a Room" and §7.4 "Sending a Message to All Occupants": an occupant from a remote server enters and receives groupchat messages and occupant presence.',
    },
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');

    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-room');
    const bobRoom = await bob.joinRoom(ref);

    await expectMember(alice, aliceRoom, bob);
    await expectMember(bob, bobRoom, alice);

    await alice.send(aliceRoom, 'Välkommen till rummet, Bob!');
    await expectMessage(bob, bobRoom, { from: alice, body: 'Välkommen till rummet, Bob!' });

    await bob.send(bobRoom, 'Tack Alice, hälsningar från org-b.');
    await expectMessage(alice, aliceRoom, { from: bob, body: 'Tack Alice, hälsningar från org-b.' });
  });
});
