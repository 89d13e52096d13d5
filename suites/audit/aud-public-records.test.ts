import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { searchStore } from '../../harness/probes/server-store.ts';
import { operatorCompilesRoom, operatorFindsRoom } from '../../harness/provisioning/operator.ts';
import { expectMember, expectMessage } from '../../harness/scenario/expect.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/**
 * A public-records request (allmän handling): staff with the operator's access must be able to find a
 * conversation and compile it — every message with its sender, time and text, in a form a program can read.
 */
const clause = {
  matrix: 'R25 §5.3 (requirement specification): authorised staff can search and compile a conversation for a public-records '
    + 'request. Synapse Admin API "Room Messages API": GET /_synapse/admin/v1/rooms/{roomId}/messages (server admins).',
  xmpp: 'R25 §5.3 (requirement specification): authorised staff can search and compile a conversation for a public-records '
    + 'request. XEP-0313 §4 (Message Archive Management: a MUC archive is queried at the room, by its occupants), '
    + 'XEP-0133 / prosodyctl / ejabberdctl (what the operator has).',
};

/**
 * Dendrite 0.15's admin API (/_dendrite/admin: evacuateRoom, evacuateUser, purgeRoom, resetPassword, refreshDevices,
 * downloadState, fulltext/reindex; of /_synapse/admin only register and server notices) neither lists nor reads rooms.
 */
const adminApiNote = (implementation: string): string =>
  (implementation === 'dendrite' ? ' (Dendrite\'s admin API, /_dendrite/admin, evacuates, purges and resets; it neither lists rooms nor reads messages)' : '');

interface Sent { sender: string; body: string; sentAt: number }

/** An event of Synapse's Room Messages answer: sender, origin_server_ts and content.body. */
interface RoomEvent { type?: string; sender?: string; origin_server_ts?: number; content?: { body?: unknown } }

describe('AUD-RECORDS: authorised staff can search and compile a conversation for a public-records request', () => {
  scenario('alice (org-a) and bob (org-b) talk in a room on org-a; the operator of org-a compiles the room: every message with sender, time and text, machine-readable', {
    requirements: ['AUD-RECORDS'],
    clause,
  }, async (s) => {
    const org = s.lab.organisations['org-a'];
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-b', 'bob');
    const roomName = `public records ${randomBytes(3).toString('hex')}`;
    const { conversation: aliceRoom, ref } = await alice.createRoom(roomName);
    const bobRoom = await bob.joinRoom(ref);
    await expectMember(alice, aliceRoom, bob);
    const tag = randomBytes(3).toString('hex');
    const sent: Sent[] = [];
    for (const [client, room, text] of [[alice, aliceRoom, 'Beslutet om upphandlingen fattas på fredag'], [bob, bobRoom, 'Då skickar org-b underlaget på torsdag'], [alice, aliceRoom, 'Bra, diarieför det när det kommer']] as const) {
      const body = `${text} [${tag}-${sent.length + 1}]`;
      const sentAt = Date.now();
      await client.send(room, body);
      sent.push({ sender: client.account.address, body, sentAt });
    }
    await expectMessage(alice, aliceRoom, { from: bob, body: sent[1]!.body });
    await expectMessage(bob, bobRoom, { from: alice, body: sent[2]!.body });

    // Staff first find the conversation (by its name), then compile it.
    const found = await operatorFindsRoom(org, roomName);
    if (found) {
      s.note(`operator: ${found.command} → ${found.status}\n${found.answer}`);
      const rooms = Array.isArray(found.fields?.rooms) ? (found.fields.rooms as Array<{ room_id?: string }>) : [];
      if (found.status !== 200 || !rooms.some((r) => r.room_id === aliceRoom.id)) {
        throw new ConformanceFailure(`the operator's search for "${roomName}" did not find ${aliceRoom.id}: ${found.command} answered ${found.status ?? '?'} ${found.answer.slice(0, 200)}${adminApiNote(org.implementation)}`);
      }
    }
    const compiled = await operatorCompilesRoom(org, aliceRoom.id);
    if (!compiled) {
      // No operator route: say where the messages are, so the No is not read as "nothing kept".
      const stored = org.storeDir ? searchStore(org.storeDir, sent.map((m) => m.body)) : [];
      s.note(`the messages in org-a's storage (byte search): ${stored.map((h) => `${h.needle} in ${h.file}`).join('; ') || '(none found: the room keeps no archive on disk)'}`);
      throw new ConformanceFailure(`${org.product} gives its operator no way to compile a conversation: no admin command or API reads a room's messages `
        + `(${org.protocol === 'xmpp' ? 'prosodyctl / ejabberdctl have no archive export; a MUC archive is queried by occupants (XEP-0313), not by staff' : 'no admin access'})`);
    }
    s.note(`operator: ${compiled.command} → ${compiled.status}\n${compiled.answer}`);
    if (compiled.status !== 200 || !Array.isArray(compiled.fields?.chunk)) {
      throw new ConformanceFailure(`${org.product} has no admin export of a room's messages: ${compiled.command} answered ${compiled.status ?? '?'} ${compiled.answer.slice(0, 200)}${adminApiNote(org.implementation)}`);
    }
    const events = (compiled.fields.chunk as RoomEvent[]).filter((e) => e.type === 'm.room.message');
    const missing: string[] = [];
    for (const m of sent) {
      const e = events.find((x) => x.content?.body === m.body);
      if (!e) { missing.push(`"${m.body}" is not in the compilation`); continue; }
      if (e.sender !== m.sender) missing.push(`"${m.body}": sender ${String(e.sender)}, sent by ${m.sender}`);
      // origin_server_ts is the sending server's clock (org-b's for bob), within seconds of the harness's.
      if (typeof e.origin_server_ts !== 'number' || Math.abs(e.origin_server_ts - m.sentAt) > 10_000) {
        missing.push(`"${m.body}": time ${String(e.origin_server_ts)}, sent at ${m.sentAt}`);
      }
    }
    s.note(`compiled ${events.length} message(s) as JSON: ${events.map((e) => `${new Date(e.origin_server_ts ?? 0).toISOString()} ${String(e.sender)}: ${String(e.content?.body)}`).join(' | ')}`);
    if (missing.length) throw new ConformanceFailure(`the operator's compilation lacks: ${missing.join('; ')}`);
  });
});
