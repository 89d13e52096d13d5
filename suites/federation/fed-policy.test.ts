import { describe } from 'vitest';
import type { ChatClient, ChatEvent, Conversation } from '../../harness/drivers/driver.ts';
import type { OrgName } from '../../harness/lab/types.ts';
import { arrives, reachProbes, type ReachPair } from '../../harness/probes/reach.ts';
import { excludeServer, sendRegardless, untilExclusionKnown } from '../../harness/probes/room-acl.ts';
import { expectMember, expectMessage } from '../../harness/scenario/expect.ts';
import { scenario, type Session } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, ProductLacks } from '../../harness/verdict/failure.ts';

/** How long a probe waits for its traffic before calling it "did not get through". */
const waitMs = 12_000;

/** A 1:1 conversation between `a` and `b` that has carried a message each way: each one's side, by address. */
async function converse(a: ChatClient, b: ChatClient): Promise<Record<string, Conversation>> {
  const fromA = await a.openDirect(b.account.address);
  const fromB = await b.acceptDirect(a.account.address);
  await a.send(fromA, 'Hej innan policyn');
  await expectMessage(b, fromB, { from: a, body: 'Hej innan policyn' });
  await b.send(fromB, 'Hej tillbaka');
  await expectMessage(a, fromA, { from: b, body: 'Hej tillbaka' });
  return { [a.account.address]: fromA, [b.account.address]: fromB };
}

/** Every domain an organisation federates under (its users' domain and, in XMPP, its MUC service). */
function domainsOf(s: Session, org: OrgName): string[] {
  const { domain, mucDomain } = s.lab.organisations[org];
  return mucDomain ? [domain, mucDomain] : [domain];
}

describe('FED-POLICY: the operator restricts federation to an allow-list of organisations', () => {
  scenario('with an allow-list on org-a admitting org-b only, org-c can neither reach org-a nor be reached from it on any federation endpoint, while org-b still can', {
    requirements: ['FED-POLICY'],
    clause: {
      matrix: 'Server-Server API "Request Authentication": every federation request is signed by and names its origin server (X-Matrix), so a server can refuse a non-listed origin; '
        + 'Synapse federation_domain_whitelist: "Restrict federation to the given whitelist of domains".',
      xmpp: 'RFC 6120 §4.9.3.12 <policy-violation/>: an entity may close a stream that violates a local service policy; '
        + 'stanzas to a remote domain (RFC 6121 messages and presence, XEP-0045 rooms, IQs) travel only over s2s streams.',
    },
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const carol = await s.user('org-c', 'carol');
    // Conversations set up while federation is open: the same traffic works before the allow-list.
    const withBob = await converse(alice, bob);
    const withCarol = await converse(alice, carol);
    s.note('before the allow-list: alice (org-a) exchanged messages with bob (org-b) and with carol (org-c)');

    const allowList = domainsOf(s, 'org-b');
    await alice.close();
    try {
      await s.control('reconfigure', 'org-a', { federationAllowList: allowList });
    } catch (error) {
      if (error instanceof ProductLacks) throw new ConformanceFailure(`org-a cannot be restricted to an allow-list: ${error.message}`);
      // A failed start leaves org-a down: bring it back as it was for the scenarios after this one.
      await s.control('reconfigure', 'org-a', {}).catch(() => undefined);
      throw error;
    }
    s.note(`org-a restarted with the federation allow-list [${allowList.join(', ')}]`);
    try {
      const aliceNow = await s.login(alice.account);
      // Profile and key queries ask about someone who shares no room with the asker, so no server answers from a cache.
      const erin = await s.user('org-a', 'erin');
      const frank = await s.user('org-b', 'frank');
      const dave = await s.user('org-c', 'dave');
      const direction = (name: string, allowed: boolean, from: ChatClient, to: ChatClient, chat: Record<string, Conversation>, stranger: ChatClient) => {
        const pair: ReachPair = { from, to, stranger, waitMs, shared: { fromSide: chat[from.account.address]!, toSide: chat[to.account.address]! } };
        return { name, allowed, pair };
      };
      const directions = [
        direction('org-c → org-a', false, carol, aliceNow, withCarol, erin),
        direction('org-a → org-c', false, aliceNow, carol, withCarol, dave),
        direction('org-b → org-a', true, bob, aliceNow, withBob, erin),
        direction('org-a → org-b', true, aliceNow, bob, withBob, frank),
      ];
      const results = await Promise.all(directions.flatMap((d) => reachProbes(s.protocol).map(async (probe) => ({
        ...d, endpoint: probe.endpoint, outcome: await probe.attempt(d.pair),
      }))));
      for (const r of results) s.note(`${r.name} ${r.endpoint}: ${r.outcome.reached ? 'GOT THROUGH' : 'did not get through'} (${r.outcome.detail})`);

      const leaks = results.filter((r) => !r.allowed && r.outcome.reached);
      const blocked = results.filter((r) => r.allowed && !r.outcome.reached);
      const problems = [
        ...leaks.map((r) => `non-listed org-c got through, ${r.name}, on ${r.endpoint}: ${r.outcome.detail}`),
        ...blocked.map((r) => `listed org-b was refused, ${r.name}, on ${r.endpoint}: ${r.outcome.detail}`),
      ];
      if (problems.length) throw new ConformanceFailure(`the allow-list on org-a does not hold:\n${problems.join('\n')}`);
    } finally {
      // Back to the product's own settings, so later scenarios see the stock federation.
      await s.control('reconfigure', 'org-a', {});
    }
  });
});

describe('FED-ROOM-ACL: a room excludes a named server while the others keep working', () => {
  scenario('alice excludes org-c from her room on org-a: org-c\'s messages are no longer accepted and org-c cannot join, while bob from org-b keeps talking', {
    requirements: ['FED-ROOM-ACL'],
    clause: {
      matrix: 'Client-Server API "Server Access Control Lists (ACLs) for rooms" (m.room.server_acl) and Server-Server API "Server Access Control Lists (ACLs)": '
        + 'a server denied by the room\'s ACL has its PDUs and its requests for the room (e.g. joins) rejected by the other servers.',
      xmpp: 'XEP-0045 §9.1 "Banning a User" and §5.2 "Affiliations": an outcast may not enter the room and a banned occupant is removed; '
        + 'here the outcast is the excluded server\'s domain JID.',
    },
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const carol = await s.user('org-c', 'carol');
    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-acl');
    const bobRoom = await bob.joinRoom(ref);
    const carolRoom = await carol.joinRoom(ref);
    await expectMember(alice, aliceRoom, carol);
    // Before the exclusion, carol's messages reach both other servers: the checks below could pass only by exclusion.
    await carol.send(carolRoom, 'Hej från org-c innan uteslutningen');
    await expectMessage(alice, aliceRoom, { from: carol, body: 'Hej från org-c innan uteslutningen' });
    await expectMessage(bob, bobRoom, { from: carol, body: 'Hej från org-c innan uteslutningen' });

    const excluded = carol.account.org.domain;
    s.note(`alice sent ${await excludeServer(alice, aliceRoom, excluded)}`);
    await untilExclusionKnown(bob, bobRoom, excluded);

    const after = 'org-c efter uteslutningen';
    await sendRegardless(carol, carolRoom, after);
    const [toAlice, toBob] = await Promise.all([
      arrives(alice, (e) => e.kind === 'message' && e.conversation === aliceRoom.id && e.body === after, waitMs),
      arrives(bob, (e) => e.kind === 'message' && e.conversation === bobRoom.id && e.body === after, waitMs),
    ]);
    s.note(`carol's message after the exclusion: ${toAlice ? 'reached' : 'did not reach'} alice, ${toBob ? 'reached' : 'did not reach'} bob (waited ${waitMs} ms)`);

    // org-b keeps working both ways.
    await bob.send(bobRoom, 'org-b är kvar i rummet');
    await expectMessage(alice, aliceRoom, { from: bob, body: 'org-b är kvar i rummet' });
    await alice.send(aliceRoom, 'Välkommen tillbaka, Bob');
    await expectMessage(bob, bobRoom, { from: alice, body: 'Välkommen tillbaka, Bob' });

    // Someone else from org-c cannot come in. (Matrix: while carol is still in the room, org-c can make dave's join
    // event itself without asking org-a; what counts is whether org-a and org-b accept it.)
    const dave = await s.user('org-c', 'dave');
    try {
      await dave.joinRoom(ref);
      s.note('dave (org-c): his own server reports him joined');
    } catch (error) {
      if (!(error instanceof ConformanceFailure)) throw error;
      s.note(`dave (org-c) could not join: ${error.message}`);
    }
    const daveJoined = (e: ChatEvent) => e.kind === 'member' && e.member === dave.account.address && e.membership === 'join';
    const [daveAtAlice, daveAtBob] = await Promise.all([
      arrives(alice, (e) => daveJoined(e) && e.conversation === aliceRoom.id, waitMs),
      arrives(bob, (e) => daveJoined(e) && e.conversation === bobRoom.id, waitMs),
    ]);
    s.note(`dave's join ${daveAtAlice ? 'was' : 'was not'} accepted by org-a, ${daveAtBob ? 'was' : 'was not'} by org-b (waited ${waitMs} ms)`);
    const joined = daveAtAlice || daveAtBob;

    const problems = [
      ...(toAlice ? [`org-a (the room's host) still accepted a message from ${excluded}`] : []),
      ...(toBob ? [`org-b still accepted a message from ${excluded}`] : []),
      ...(joined ? [`a user of ${excluded} could still join the room (accepted by ${[daveAtAlice ? 'org-a' : '', daveAtBob ? 'org-b' : ''].filter(Boolean).join(' and ')})`] : []),
    ];
    if (problems.length) throw new ConformanceFailure(`excluding ${excluded} from ${ref} did not hold: ${problems.join('; ')}`);
  });
});

