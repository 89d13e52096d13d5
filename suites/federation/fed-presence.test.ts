import { describe } from 'vitest';
import type { Availability, ChatClient, PresenceEvent } from '../../harness/drivers/driver.ts';
import { defaultWaitMs } from '../../harness/drivers/driver.ts';
import { scenario } from '../../harness/scenario/scenario.ts';

/** `watcher` receives `contact`'s presence with exactly this availability and status text. */
async function expectPresence(watcher: ChatClient, contact: ChatClient, expected: { availability: Availability; status: string }): Promise<PresenceEvent> {
  const address = contact.account.address;
  const event = await watcher.waitFor(
    (e) => e.kind === 'presence' && e.sender === address && e.availability === expected.availability && e.status === expected.status,
    { description: `${address}'s presence "${expected.availability}" with status "${expected.status}"`, timeoutMs: defaultWaitMs },
  );
  return event as PresenceEvent;
}

describe('FED-PRESENCE: presence (available / busy) is visible across organisations to contacts', () => {
  scenario('alice at org-a and bob at org-b become contacts; each sees the other switch to busy ("upptagen") and back to available', {
    requirements: ['FED-PRESENCE'],
    interop: true,
    clause: {
      matrix: 'Client-Server API §"Presence": PUT /presence/{userId}/status sets presence (online / unavailable / offline) and status_msg; "users who share a room" receive each other\'s m.presence in /sync; Server-Server API §"Presence" (m.presence EDU) carries it to the other homeservers in the room.',
      xmpp: 'RFC 6121 §3.1 "Requesting a Subscription" / §3.1.5 approval: a contact that approves a subscription shares its presence; §4.4 "Subsequent Presence Broadcast": the user\'s server MUST broadcast presence to every contact with a subscription "from" or "both", across domains; §4.7.2.1 <show>dnd</show> = busy; §4.7.2.2 <status/>.',
    },
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');

    // Contacts: Matrix shares presence with whoever shares a room, so a 1:1 conversation; XMPP adds each to the
    // other's roster with a subscription approved both ways (RFC 6121 §3), across the two servers.
    await alice.openDirect(bob.account.address);
    await bob.acceptDirect(alice.account.address);
    await alice.requestPresence(bob.account.address);
    await bob.approvePresence(alice.account.address);
    await bob.requestPresence(alice.account.address);
    await alice.approvePresence(bob.account.address);

    // KS 6.2.1: the user sets the status by hand; KS 6.2.2: the other organisation sees "upptagen" / "tillgänglig".
    await alice.setPresence('busy', 'upptagen');
    await expectPresence(bob, alice, { availability: 'busy', status: 'upptagen' });

    await bob.setPresence('busy', 'upptagen i möte');
    await expectPresence(alice, bob, { availability: 'busy', status: 'upptagen i möte' });

    await alice.setPresence('available', 'tillgänglig');
    await expectPresence(bob, alice, { availability: 'available', status: 'tillgänglig' });
  });
});
