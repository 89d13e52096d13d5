import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { expectMember, expectMessage } from '../../harness/scenario/expect.ts';
import { exportUserHistory } from '../../harness/provisioning/export.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, ifLacking } from '../../harness/verdict/failure.ts';
import { reconfiguredForThisFile } from './reconfigure.ts';

const reconfigure = reconfiguredForThisFile();

/** How far an exported time may lie from when the harness sent the message (clocks are the same machine's). */
const timeSlackMs = 5_000;

describe('RET-EXPORT: a user\'s history can be exported in an open machine-readable format', () => {
  scenario('alice (org-a) and bob (org-b) write to each other; org-a\'s operator exports alice\'s history with the product\'s own tool, and the export holds every message with sender, time and body', {
    requirements: ['RET-EXPORT'],
    clause: {
      matrix: 'Requirement RET-EXPORT: "Before deletion, a room\'s or a user\'s history can be exported in an open machine-readable format" '
        + '(KS 2.2.6). Synapse documents `synapse.app.admin_cmd export-data` (rooms/<room_id>/events as JSON events, Client-Server '
        + 'API event format: sender, origin_server_ts, content.body).',
      xmpp: 'Requirement RET-EXPORT (KS 2.2.6); the open format for XMPP server data is XEP-0227 "Portable Import/Export Format for XMPP-IM '
        + 'Servers"; a user\'s 1:1 history is their XEP-0313 archive (Prosody: prosody-migrator to mod_storage_xep0227, whose '
        + '<archive xmlns="urn:xmpp:pie:0#mam"> holds XEP-0313 results; ejabberd: `ejabberdctl export_piefxis`).',
    },
  }, async (s) => {
    // XMPP servers keep a user's history only with a message archive (XEP-0313), which the lab's servers run on request.
    if (s.protocol === 'xmpp') await reconfigure(s, 'org-a', { messageArchive: true });
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const aliceRoom = await alice.openDirect(bob.account.address);
    const bobRoom = await bob.acceptDirect(alice.account.address);
    // A Matrix direct chat is a room: alice's server must know bob joined before her messages go to his.
    if (s.protocol === 'matrix') await expectMember(alice, aliceRoom, bob);
    const token = randomBytes(3).toString('hex');
    const sent: Array<{ sender: string; body: string; at: number }> = [];
    for (const [from, fromRoom, to, toRoom] of [[alice, aliceRoom, bob, bobRoom], [bob, bobRoom, alice, aliceRoom], [alice, aliceRoom, bob, bobRoom]] as const) {
      const body = `Exportpost ${token} ${sent.length + 1} från ${from.account.localpart}: åäö`;
      const at = Date.now();
      await from.send(fromRoom, body);
      await expectMessage(to, toRoom, { from, body });
      sent.push({ sender: from.account.address, body, at });
    }

    const exported = await ifLacking(() => exportUserHistory(s.lab.organisations['org-a'], alice.account.address),
      (why) => new ConformanceFailure(`org-a cannot export history: ${why}`));
    s.note(`operator ran: ${exported.command}`);
    s.note(`format: ${exported.format}; ${exported.files.length} files (${exported.files.slice(0, 12).join(', ')}${exported.files.length > 12 ? ', …' : ''}); ${exported.messages.length} messages in it`);
    if (exported.userHolds) s.note(`the export's section for ${alice.account.address} holds: ${exported.userHolds}`);
    const problems: string[] = [];
    for (const m of sent) {
      const found = exported.messages.find((e) => e.body === m.body);
      if (!found) { problems.push(`"${m.body}" is missing`); continue; }
      const senderOk = found.sender === m.sender || found.sender.split('/')[0] === m.sender;
      const timeOk = Math.abs(found.timestamp - m.at) <= timeSlackMs;
      s.note(`"${m.body}": sender ${found.sender}${senderOk ? '' : ` (expected ${m.sender})`}, time ${new Date(found.timestamp).toISOString()} (${found.timestamp - m.at} ms from sending)`);
      if (!senderOk) problems.push(`"${m.body}" has sender ${found.sender}, not ${m.sender}`);
      if (!timeOk) problems.push(`"${m.body}" has time ${Number.isFinite(found.timestamp) ? new Date(found.timestamp).toISOString() : 'none'}, not within ${timeSlackMs} ms of sending`);
    }
    if (problems.length) throw new ConformanceFailure(`the export of ${alice.account.address}'s history is incomplete: ${problems.join('; ')}`);
  });
});
