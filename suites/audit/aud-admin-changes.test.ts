import { describe } from 'vitest';
import { findRecord, timed } from '../../harness/audit/index.ts';
import { destroyXmppRoom } from '../../harness/probes/room-privilege.ts';
import { operatorAddress, operatorShutsDownRoom } from '../../harness/provisioning/operator.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { NotTestable, ProductLacks } from '../../harness/verdict/failure.ts';

/**
 * AUD-ADMIN beyond a room's power levels (those are in aud-records.test.ts): a room shut down, and the operator's
 * change of the federation policy. Each its own scenario, so each answer has its own evidence.
 */

describe('AUD-ADMIN: a room shut down is recorded', () => {
  scenario('a room on org-a is shut down (Matrix: the operator, Admin API "Delete Room"; XMPP: the owner destroys it); the server records who, which room, when', {
    requirements: ['AUD-ADMIN'],
    clause: {
      matrix: 'KS 1.1.2 / i.4.7 (requirement specification): administrative changes are logged. Synapse Admin API '
        + '"Delete Room" (DELETE /_synapse/admin/v2/rooms/{roomId}): removes the local members and blocks the room.',
      xmpp: 'KS 1.1.2 / i.4.7 (requirement specification): administrative changes are logged. XEP-0045 §10.9 '
        + '"Destroying a Room": the owner sends <destroy/> in muc#owner; the service removes every occupant.',
    },
  }, async (s) => {
    const org = s.lab.organisations['org-a'];
    const alice = await s.user('org-a', 'alice');
    const { conversation: room } = await alice.createRoom('audit: shutdown');
    let actor = alice.account.address;
    let sent = '';
    const shut = await timed(`room ${room.id} on org-a shut down`, async () => {
      if (org.protocol === 'xmpp') {
        sent = await destroyXmppRoom(alice, room, 'audit: shutdown');
        return;
      }
      const answer = await operatorShutsDownRoom(org, room.id);
      if (!answer) throw new NotTestable(`the harness has no admin API to shut a room down on ${org.product} (${org.provisioning.method})`);
      sent = `${answer.command}: HTTP ${answer.status} ${answer.answer}`;
      actor = operatorAddress(org)!;
    });
    s.note(`${actor}: ${sent}`);
    await findRecord(s, org, { ...shut, what: `${actor} shut down ${room.id}` }, (r) => r.marks.roomShutDown?.(actor, room.id));
  });
});

describe('AUD-ADMIN: a change of the federation policy is recorded', () => {
  scenario('the operator restricts org-a\'s federation to an allow-list of org-b (configuration and restart); the server records the policy it now applies', {
    requirements: ['AUD-ADMIN'],
    clause: {
      matrix: 'KS 1.1.2 / i.4.7 (requirement specification): administrative changes — here the federation policy — are logged. '
        + 'Synapse federation_domain_whitelist, read from the configuration at start.',
      xmpp: 'KS 1.1.2 / i.4.7 (requirement specification): administrative changes — here the federation policy — are logged. '
        + 'Prosody: mod_host_guard (host_guard_blockall / _exceptions), read from the configuration at start.',
    },
  }, async (s) => {
    // What counts: the policy lives in the server's configuration, changed by editing it and restarting, so no
    // product can name the person (that is the organisation's change management). The product's own record of the
    // change is a line, written when it takes effect, naming the policy it now applies; a start-up banner is not one.
    const org = s.lab.organisations['org-a'];
    const { domain, mucDomain } = s.lab.organisations['org-b'];
    const allowList = mucDomain ? [domain, mucDomain] : [domain];
    let changed;
    try {
      changed = await timed(`the operator restricts org-a's federation to [${allowList.join(', ')}] (configuration, restart)`,
        () => s.control('reconfigure', 'org-a', { federationAllowList: allowList }));
    } catch (error) {
      if (error instanceof ProductLacks) throw new NotTestable(`org-a cannot be given a federation allow-list: ${error.message}`);
      await s.control('reconfigure', 'org-a', {}).catch(() => undefined);
      throw error;
    }
    try {
      await findRecord(s, org, changed, (r) => r.marks.federationPolicy?.(allowList));
    } finally {
      await s.control('reconfigure', 'org-a', {});
    }
  });
});
