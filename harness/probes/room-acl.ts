/**
 * A room owner excluding a whole server from one room: Matrix `m.room.server_acl` (Client-Server API "Server
 * Access Control Lists (ACLs) for rooms"), XMPP a MUC outcast affiliation for the server's domain JID (XEP-0045 §9.1
 * "Banning a User"; Prosody and ejabberd match a domain JID against an occupant's server). Not in the driver: no chat client shows this to ordinary users.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { xml } from '@xmpp/client';
import { request } from 'undici';
import type { ChatClient, Conversation } from '../drivers/driver.ts';
import { clientApiAccess } from '../drivers/matrix.ts';
import { stanzaSession } from '../drivers/xmpp.ts';
import { ConformanceFailure } from '../verdict/failure.ts';

const aclPath = (room: string) => `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.server_acl/`;

/** `owner` excludes `domain` from `room`; resolves with what was sent, for the evidence. A refusal is a ConformanceFailure. */
export async function excludeServer(owner: ChatClient, room: Conversation, domain: string): Promise<string> {
  if (owner.account.org.protocol === 'matrix') {
    const { baseUrl, accessToken } = clientApiAccess(owner);
    const content = { allow: ['*'], deny: [domain], allow_ip_literals: false };
    const response = await request(`${baseUrl}${aclPath(room.id)}`, {
      method: 'PUT', body: JSON.stringify(content), headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new ConformanceFailure(`${owner.account.address} could not set m.room.server_acl in ${room.id}: HTTP ${response.statusCode} ${text.slice(0, 300)}`);
    return `m.room.server_acl ${JSON.stringify(content)} in ${room.id}`;
  }
  const iq = xml('iq', { type: 'set', to: room.id },
    xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xml('item', { affiliation: 'outcast', jid: domain }, xml('reason', {}, 'fedconf: server excluded'))));
  try {
    await stanzaSession(owner).iqCaller.request(iq, 15_000);
  } catch (error) {
    if (error instanceof Error && error.name === 'StanzaError') throw new ConformanceFailure(`${room.id} refused to make ${domain} an outcast: ${error.message}`);
    throw error;
  }
  return `muc#admin outcast affiliation for ${domain} in ${room.id}`;
}

/**
 * Waits until `member`'s server knows the exclusion (Matrix: the ACL state event has federated to it), so what
 * follows tests enforcement, not propagation. XMPP: the MUC service alone decides, nothing to wait for.
 */
export async function untilExclusionKnown(member: ChatClient, room: Conversation, domain: string, timeoutMs = 15_000): Promise<void> {
  if (member.account.org.protocol !== 'matrix') return;
  const { baseUrl, accessToken } = clientApiAccess(member);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await request(`${baseUrl}${aclPath(room.id)}`, { headers: { authorization: `Bearer ${accessToken}` } });
    const body = await response.body.json().catch(() => ({})) as { deny?: unknown };
    if (response.statusCode === 200 && Array.isArray(body.deny) && body.deny.includes(domain)) return;
    if (Date.now() > deadline) throw new ConformanceFailure(`${member.account.org.domain} did not learn the server ACL of ${room.id} within ${timeoutMs} ms`);
    await sleep(250);
  }
}

/**
 * Sends to a room even if the client thinks it was removed (an XMPP occupant kicked by the ban): what the
 * servers then do with the message is what the scenario checks. A server refusing it is fine.
 */
export async function sendRegardless(sender: ChatClient, room: Conversation, body: string): Promise<void> {
  if (sender.account.org.protocol === 'xmpp') {
    await stanzaSession(sender).send(xml('message', { type: 'groupchat', to: room.id, id: `fedconf-${randomUUID()}` }, xml('body', {}, body)));
    return;
  }
  try {
    await sender.send(room, body);
  } catch (error) {
    if (!(error instanceof ConformanceFailure)) throw error;
  }
}
