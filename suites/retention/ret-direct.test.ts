import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe } from 'vitest';
import type { SentMessage } from '../../harness/drivers/driver.ts';
import { expectMessage } from '../../harness/scenario/expect.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, NotTestable, ifLacking } from '../../harness/verdict/failure.ts';
import { reconfiguredForThisFile } from './reconfigure.ts';

const reconfigure = reconfiguredForThisFile();

/**
 * RET-FEDERATED for XMPP 1:1 conversations: each side's server archives its own user's copy (XEP-0313 user archives),
 * so "the other organisation's copy" is bob's archive on org-b. Both servers run the same lifetime; once org-a's
 * archive no longer gives alice's conversation, org-b's archive is asked for bob's. (Matrix has no separate 1:1
 * copies: a direct chat is a room, which ret-policy.test.ts checks on both servers.)
 */

const lifetimeSeconds = 15;
/** How long after the lifetime org-a's own archive may take to expire before the comparison is abandoned. */
const expiryBoundMs = 10_000;
const pollEveryMs = 1_000;

describe('RET-FEDERATED: org-b\'s own archive copy of a 1:1 conversation expires like org-a\'s', () => {
  scenario(`alice (org-a) and bob (org-b) chat 1:1, both servers with a ${lifetimeSeconds} s archive lifetime; once org-a's archive has dropped the conversation, bob's archive at org-b has too`, {
    requirements: ['RET-FEDERATED'],
    clause: {
      matrix: 'Not applicable: a Matrix direct chat is a room, held as one replicated event graph (ret-policy.test.ts checks both servers\' copies).',
      xmpp: 'XEP-0313 §4 "Querying an archive" (a user\'s archive, filtered by `with`, §4.1.1) — each server archives its own user\'s '
        + 'copy of a 1:1 conversation; retention is each server\'s policy (§8 "Business Considerations"; Prosody archive_expires_after).',
    },
  }, async (s) => {
    if (s.protocol === 'matrix') throw new NotTestable('a Matrix direct chat is a room; the RET-FEDERATED scenario of ret-policy.test.ts reads org-b\'s copy of it');
    await ifLacking(async () => {
      await reconfigure(s, 'org-a', { retentionSeconds: lifetimeSeconds });
      await reconfigure(s, 'org-b', { retentionSeconds: lifetimeSeconds });
    }, (why) => new NotTestable(`no archive expiry to follow: ${why} (RET-POLICY answers this)`));
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const token = randomBytes(3).toString('hex');
    const aliceChat = await alice.openDirect(bob.account.address);
    const bobChat = await bob.acceptDirect(alice.account.address);
    const sent: SentMessage[] = [];
    const toBob = `Direktarkiv ${token} fran alice`;
    sent.push({ id: await alice.send(aliceChat, toBob), body: toBob });
    await expectMessage(bob, bobChat, { from: alice, body: toBob });
    const toAlice = `Direktarkiv ${token} fran bob`;
    sent.push({ id: await bob.send(bobChat, toAlice), body: toAlice });
    await expectMessage(alice, aliceChat, { from: bob, body: toAlice });
    const lastSentAt = Date.now();
    s.note(`configured: archive lifetime ${lifetimeSeconds} s on org-a and org-b`);

    // Ids differ per archive, so both sides are read back by body.
    const served = async (client: typeof alice, chat: typeof aliceChat): Promise<number> =>
      Math.max(0, ...(await client.readBack(chat, sent)).map((p) => p.readable.length));
    const [aliceBefore, bobBefore] = [await served(alice, aliceChat), await served(bob, bobChat)];
    s.note(`right after sending: org-a's archive gives alice ${aliceBefore} of ${sent.length}, org-b's gives bob ${bobBefore} of ${sent.length}`);
    if (bobBefore < sent.length) throw new NotTestable(`org-b's archive does not give bob the conversation even before expiry (${bobBefore} of ${sent.length}): no copy to follow`);

    const expiredAt = lastSentAt + lifetimeSeconds * 1000;
    await sleep(Math.max(0, expiredAt - Date.now()));
    let aliceLeft = aliceBefore;
    while (aliceLeft > 0 && Date.now() < expiredAt + expiryBoundMs) {
      await sleep(pollEveryMs);
      aliceLeft = await served(alice, aliceChat);
    }
    const aliceGoneMs = Date.now() - expiredAt;
    if (aliceLeft > 0) throw new NotTestable(`org-a's own archive still gives ${aliceLeft} of ${sent.length} messages ${aliceGoneMs} ms past the ${lifetimeSeconds} s lifetime (its expiry runs later; RET-POLICY answers that): nothing to compare org-b's copy with`);
    const bobLeft = await served(bob, bobChat);
    s.note(`${aliceGoneMs} ms after the lifetime: org-a's archive gives alice none; org-b's archive gives bob ${bobLeft} of ${sent.length}`);
    if (bobLeft > 0) throw new ConformanceFailure(`org-b still keeps its copy of the 1:1 conversation (${bobLeft} of ${sent.length} messages) after org-a's archive dropped it under the same ${lifetimeSeconds} s lifetime`);
  });
});
