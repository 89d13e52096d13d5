import { describe } from 'vitest';
import { expectMessage } from '../../harness/scenario/expect.ts';
import { scenario } from '../../harness/scenario/scenario.ts';

describe('FED-DM: a 1:1 conversation with someone known only by address on another organisation', () => {
  scenario('alice at org-a writes to bob at org-b knowing only his address, and bob answers', {
    requirements: ['FED-DM'],
    interop: true,
    clause: {
      matrix: 'Client-Server API §11.25 "Direct Messaging" (m.direct / is_direct invite) over Server-Server API §11.2 "Inviting to a room": a user on one homeserver invites and messages a user on another.',
      xmpp: 'RFC 6121 §5.1 "One-to-one chat sessions" and RFC 6120 §13.1: a server MUST route a stanza addressed to a JID at a remote domain over server-to-server (s2s).',
    },
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');

    const aliceToBob = await alice.openDirect(bob.account.address);
    const bobToAlice = await bob.acceptDirect(alice.account.address);

    await alice.send(aliceToBob, 'Hej Bob, det är Alice på org-a.');
    await expectMessage(bob, bobToAlice, { from: alice, body: 'Hej Bob, det är Alice på org-a.' });

    await bob.send(bobToAlice, 'Hej Alice! Bob här, på org-b.');
    await expectMessage(alice, aliceToBob, { from: bob, body: 'Hej Alice! Bob här, på org-b.' });
  });
});
