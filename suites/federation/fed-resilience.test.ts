import { setTimeout as sleep } from 'node:timers/promises';
import { describe } from 'vitest';
import { expectMessage } from '../../harness/scenario/expect.ts';
import { scenario, type Session } from '../../harness/scenario/scenario.ts';

/** How long after the peer is back a message may take to arrive; the report states it through the test name. */
const boundMs = 30_000;

/** alice at org-a and bob at org-b in a 1:1 conversation that has carried `first` from alice to bob. */
async function talking(s: Session, first: string) {
  const alice = await s.user('org-a', 'alice');
  const bob = await s.user('org-b', 'bob');
  const aliceToBob = await alice.openDirect(bob.account.address);
  const bobToAlice = await bob.acceptDirect(alice.account.address);
  await alice.send(aliceToBob, first);
  await expectMessage(bob, bobToAlice, { from: alice, body: first });
  return { alice, bob, aliceToBob, bobToAlice };
}

describe('FED-RESILIENCE / FED-OFFLINE: federation survives the peer server going down', () => {
  const clause = {
    matrix: 'Server-Server API §4 "Transactions": a sending server retries a transaction until the receiving server acknowledges it; §11.2 backfill and "missing events" let a returning server catch up.',
    xmpp: 'RFC 6120 §8.5 and §10.4.3: a stanza to a remote domain is routed over s2s, which a server re-establishes on demand; RFC 6121 §8.5.2: a server stores messages for an offline recipient (XEP-0160).',
  };

  scenario(`after org-b restarts, the conversation resumes both ways without a manual step (within ${boundMs / 1000} s)`, {
    requirements: ['FED-RESILIENCE'], clause, interop: true,
  }, async (s) => {
    const { alice, bob, aliceToBob, bobToAlice } = await talking(s, 'Före omstarten');

    await bob.close();
    await s.control('restart', 'org-b');
    const bobAgain = await s.login(bob.account);

    await alice.send(aliceToBob, 'Efter omstarten: hör du mig?');
    await expectMessage(bobAgain, bobToAlice, { from: alice, body: 'Efter omstarten: hör du mig?', timeoutMs: boundMs });
    await bobAgain.send(bobToAlice, 'Ja, org-b är tillbaka.');
    await expectMessage(alice, aliceToBob, { from: bobAgain, body: 'Ja, org-b är tillbaka.', timeoutMs: boundMs });
  });

  // The logged-out recipient is on org-a: storing messages for its own offline users is the product's job
  // (a variant without offline storage runs as org-a only).
  scenario('a message from org-b sent while alice at org-a is logged out reaches her when she logs in again', {
    requirements: ['FED-OFFLINE'], clause, interop: true,
  }, async (s) => {
    const { alice, bob, aliceToBob, bobToAlice } = await talking(s, 'Hej, är du där?');
    // carol, online on org-a, tells when what bob sent before his message to her has reached org-a
    // (one federation link, in order: RFC 6120 §10.1; Matrix transactions to a destination go one at a time).
    const carol = await s.user('org-a', 'carol');
    const bobToCarol = await bob.openDirect(carol.account.address);
    const carolToBob = await carol.acceptDirect(bob.account.address);

    await alice.close();
    // Logged out means the server has ended alice's session, not only that her socket is closing.
    await sleep(1000);
    await bob.send(bobToAlice, 'Skickat medan du var utloggad');
    await bob.send(bobToCarol, 'Till Carol, efter meddelandet till Alice');
    // Only now is the message to alice known to be at org-a while she is offline.
    await expectMessage(carol, carolToBob, { from: bob, body: 'Till Carol, efter meddelandet till Alice' });
    const aliceAgain = await s.login(alice.account);
    await expectMessage(aliceAgain, aliceToBob, { from: bob, body: 'Skickat medan du var utloggad' });
  });

  scenario(`a message sent while org-b's server is down reaches bob once it is back (within ${boundMs / 1000} s)`, {
    requirements: ['FED-OFFLINE', 'FED-RESILIENCE'], clause, interop: true,
  }, async (s) => {
    const { alice, bob, aliceToBob, bobToAlice } = await talking(s, 'Hej, är du där?');

    await bob.close();
    await s.control('stop', 'org-b');
    await alice.send(aliceToBob, 'Skickat medan org-b var nere');
    await s.control('start', 'org-b');

    const bobAgain = await s.login(bob.account);
    await expectMessage(bobAgain, bobToAlice, { from: alice, body: 'Skickat medan org-b var nere', timeoutMs: boundMs });
  });
});
