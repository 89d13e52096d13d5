import { describe } from 'vitest';
import { findRecord, timed, type Action } from '../../harness/audit/index.ts';
import type { ChatClient } from '../../harness/drivers/driver.ts';
import type { OrgName } from '../../harness/lab/types.ts';
import { expectMessage } from '../../harness/scenario/expect.ts';
import { scenario, type Session } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, NotTestable, ProductLacks } from '../../harness/verdict/failure.ts';

/** How long a refused attempt is given before the harness stops waiting on it (the refusal is what is recorded). */
const attemptMs = 10_000;

/** Every domain an organisation federates under (its users' domain and, in XMPP, its MUC service). */
function domainsOf(s: Session, org: OrgName): string[] {
  const { domain, mucDomain } = s.lab.organisations[org];
  return mucDomain ? [domain, mucDomain] : [domain];
}

/** `from` tries to write to `to` across a federation the policy refuses; the outcome is evidence, not a verdict. */
async function attemptDirect(from: ChatClient, to: ChatClient, body: string): Promise<string> {
  const attempt = (async () => {
    const conversation = await from.openDirect(to.account.address);
    await from.send(conversation, body);
    return 'sent (the refusal, if any, is the receiving server\'s)';
  })();
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve(`no answer within ${attemptMs} ms`), attemptMs).unref());
  return Promise.race([attempt.catch((error: unknown) => `refused: ${error instanceof Error ? error.message : String(error)}`), timeout]);
}

describe('AUD-FEDERATION: federation connections, and those refused by policy, are recorded with the peer\'s name', () => {
  scenario('org-a, restricted to org-b, exchanges messages with org-b and is tried by and tries org-c; org-a records the inbound and outbound federation with org-b and both refusals, each naming the peer', {
    requirements: ['AUD-FEDERATION'],
    clause: {
      matrix: 'KS i.7.12 (requirement specification): federation traffic and refusals are logged with the peer. Server-Server API '
        + '"Request Authentication": every request names its origin (X-Matrix); Synapse federation_domain_whitelist refuses others.',
      xmpp: 'KS i.7.12 (requirement specification): federation traffic and refusals are logged with the peer. RFC 6120 §4 '
        + '(s2s streams between domains), §4.9.3.12 <policy-violation/>; Prosody mod_host_guard refuses non-listed domains.',
    },
  }, async (s) => {
    const org = s.lab.organisations['org-a'];
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const carol = await s.user('org-c', 'carol');
    const peer = s.lab.organisations['org-b'].domain;
    const outsider = s.lab.organisations['org-c'].domain;
    // The restart also starts org-a without federation streams, so an XMPP server must open new ones, and record them.
    const allowList = domainsOf(s, 'org-b');
    await alice.close();
    let lacks: string | undefined;
    try {
      await s.control('reconfigure', 'org-a', { federationAllowList: allowList });
      s.note(`org-a restarted with the federation allow-list [${allowList.join(', ')}]`);
    } catch (error) {
      if (!(error instanceof ProductLacks)) {
        await s.control('reconfigure', 'org-a', {}).catch(() => undefined);
        throw error;
      }
      // No allow-list: nothing is refused by policy, but the allowed federation's records can still be checked.
      lacks = `org-a cannot be given a federation allow-list (${error.message}), so no refusal by policy can be caused`;
      s.note(lacks);
    }
    try {
      const aliceNow = await s.login(alice.account);
      const failures: string[] = [];
      const check = async (action: Action, mark: Parameters<typeof findRecord>[3]): Promise<void> => {
        try {
          await findRecord(s, org, action, mark);
        } catch (error) {
          if (!(error instanceof ConformanceFailure)) throw error;
          failures.push(error.message);
        }
      };
      // Allowed: alice writes to bob (org-a → org-b) and bob answers (org-b → org-a).
      const exchange = await timed(`${aliceNow.account.address} (org-a) and ${bob.account.address} (org-b) exchange messages`, async () => {
        const fromAlice = await aliceNow.openDirect(bob.account.address);
        const fromBob = await bob.acceptDirect(aliceNow.account.address);
        await aliceNow.send(fromAlice, 'Hej från org-a');
        await expectMessage(bob, fromBob, { from: aliceNow, body: 'Hej från org-a' });
        await bob.send(fromBob, 'Hej från org-b');
        await expectMessage(aliceNow, fromAlice, { from: bob, body: 'Hej från org-b' });
      });
      await check({ ...exchange, what: `outbound federation to ${peer}` }, (r) => r.marks.federationOutbound?.(peer));
      await check({ ...exchange, what: `inbound federation from ${peer}` }, (r) => r.marks.federationInbound?.(peer));
      if (lacks) {
        if (failures.length) throw new ConformanceFailure(failures.join('; '));
        throw new NotTestable(`${lacks}; the inbound and outbound records of the federation with ${peer} are in the evidence`);
      }
      // Refused: carol (org-c) writes to alice, and alice to carol.
      let outcome = '';
      const inbound = await timed(`${carol.account.address} (org-c, not listed) tries to write to ${aliceNow.account.address}`, async () => {
        outcome = await attemptDirect(carol, aliceNow, 'Hej från org-c');
      });
      s.note(`org-c → org-a: ${outcome}`);
      await check({ ...inbound, what: `inbound federation from ${outsider} refused by policy` }, (r) => r.marks.federationRefused?.(outsider, 'in'));
      const outbound = await timed(`${aliceNow.account.address} tries to write to ${carol.account.address} (org-c, not listed)`, async () => {
        outcome = await attemptDirect(aliceNow, carol, 'Hej till org-c');
      });
      s.note(`org-a → org-c: ${outcome}`);
      await check({ ...outbound, what: `outbound federation to ${outsider} refused by policy` }, (r) => r.marks.federationRefused?.(outsider, 'out'));
      if (failures.length) throw new ConformanceFailure(failures.join('; '));
    } finally {
      if (!lacks) await s.control('reconfigure', 'org-a', {});
    }
  });
});
