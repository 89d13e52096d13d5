import { xml } from '@xmpp/client';
import { describe } from 'vitest';
import type { ChatClient } from '../../harness/drivers/driver.ts';
import { clientApiAccess } from '../../harness/drivers/matrix.ts';
import { stanzaSession } from '../../harness/drivers/xmpp.ts';
import { callWithToken } from '../../harness/probes/matrix-client.ts';
import { scenario, type Session } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/** AUD-PROTECT: an ordinary user reaches none of the product's admin and log endpoints. */

const clause = {
  matrix: 'KS i.7.12 (requirement specification): logs and admin functions are protected from ordinary users. '
    + 'Synapse Admin API: "the requester must be a server admin" (403 M_FORBIDDEN otherwise); Dendrite admin endpoints likewise.',
  xmpp: 'KS i.7.12 (requirement specification): logs and admin functions are protected from ordinary users. '
    + 'XEP-0133 §4 ("the service MUST return a <forbidden/> error" to an entity not authorised for an admin command).',
};

/**
 * Admin endpoints per Matrix implementation, about another user of the same server (Synapse lets a user look up its
 * own whois by design). GETs change nothing; Dendrite's admin API is POST only, so its probes name a room and a user
 * that do not exist: harmless even if the server obeyed.
 */
function matrixAdminCalls(implementation: string, domain: string): Array<['GET' | 'POST', string]> {
  const user = encodeURIComponent(`@someone-else:${domain}`);
  if (implementation === 'dendrite') {
    const room = encodeURIComponent(`!no-such-room:${domain}`);
    return [['POST', `/_dendrite/admin/evacuateRoom/${room}`], ['POST', `/_dendrite/admin/purgeRoom/${room}`],
      ['POST', `/_dendrite/admin/evacuateUser/${user}`], ['POST', `/_dendrite/admin/refreshDevices/${user}`],
      ['GET', '/_dendrite/admin/fulltext/reindex']];
  }
  return [
    '/_synapse/admin/v2/users', `/_synapse/admin/v2/users/${user}`, `/_synapse/admin/v1/users/${user}/admin`,
    `/_synapse/admin/v1/whois/${user}`, '/_synapse/admin/v1/rooms', '/_synapse/admin/v1/event_reports',
    '/_synapse/admin/v1/registration_tokens', '/_synapse/admin/v1/federation/destinations',
    '/_synapse/admin/v1/background_updates/status', '/_synapse/admin/v1/statistics/users/media',
  ].map((path) => ['GET', path]);
}

async function matrixProbe(s: Session, alice: ChatClient): Promise<string[]> {
  const { baseUrl, accessToken } = clientApiAccess(alice);
  const reached: string[] = [];
  for (const [method, path] of matrixAdminCalls(alice.account.org.implementation, alice.account.org.domain)) {
    const answer = await callWithToken(method, baseUrl, path, accessToken);
    s.note(`${method} ${path} with ${alice.account.address}'s token: ${answer.status} ${answer.errcode ?? ''}`);
    if (answer.status >= 200 && answer.status < 300) reached.push(`${method} ${path} answered ${answer.status}`);
  }
  return reached;
}

/** XEP-0133 commands an ordinary user must not run (execute, one by one, to the server's own JID). */
const adminCommands = ['get-online-users', 'get-registered-users-num', 'get-user-lastlogin', 'add-user', 'delete-user', 'announce'];

async function xmppProbe(s: Session, alice: ChatClient): Promise<string[]> {
  const domain = alice.account.org.domain;
  const reached: string[] = [];
  for (const command of adminCommands) {
    const node = `http://jabber.org/protocol/admin#${command}`;
    try {
      const reply = await stanzaSession(alice).iqCaller.request(xml('iq', { type: 'set', to: domain },
        xml('command', { xmlns: 'http://jabber.org/protocol/commands', node, action: 'execute' })), 10_000);
      const status = reply.getChild('command')?.attrs.status as string | undefined;
      s.note(`${node} executed by ${alice.account.address}: result (status ${status ?? '-'})`);
      reached.push(`${command} answered a result (status ${status ?? '-'})`);
    } catch (error) {
      const condition = (error as { condition?: string }).condition;
      s.note(`${node} executed by ${alice.account.address}: ${condition ? `<${condition}/>` : String(error)}`);
      if (!condition) throw error; // a timeout decides nothing
    }
  }
  return reached;
}

describe('AUD-PROTECT: audit records and admin functions are out of reach of ordinary users', () => {
  scenario('alice, an ordinary user of org-a, is refused by every admin endpoint the product has', {
    requirements: ['AUD-PROTECT'],
    clause,
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const reached = alice.account.org.protocol === 'matrix' ? await matrixProbe(s, alice) : await xmppProbe(s, alice);
    if (reached.length) throw new ConformanceFailure(`an ordinary user reached admin functions: ${reached.join('; ')}`);
  });
});
