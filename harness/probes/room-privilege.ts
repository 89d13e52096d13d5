/**
 * A room owner raising another user's privileges in one room: Matrix `m.room.power_levels` (Client-Server API
 * "m.room.power_levels"), XMPP the admin affiliation (XEP-0045 §10.6 "Granting Administrative Privileges").
 * Not in the driver: an operator's/owner's action, used by the audit scenarios (AUD-ADMIN).
 */
import { xml } from '@xmpp/client';
import { request } from 'undici';
import type { ChatClient, Conversation } from '../drivers/driver.ts';
import { clientApiAccess } from '../drivers/matrix.ts';
import { stanzaSession } from '../drivers/xmpp.ts';
import { ConformanceFailure } from '../verdict/failure.ts';

/** `owner` makes `subject` a room admin (Matrix power level 100); resolves with what was sent, for the evidence. */
export async function grantRoomAdmin(owner: ChatClient, room: Conversation, subject: string): Promise<string> {
  if (owner.account.org.protocol === 'matrix') {
    const { baseUrl, accessToken } = clientApiAccess(owner);
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(room.id)}/state/m.room.power_levels/`;
    const headers = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' };
    const current = await request(`${baseUrl}${path}`, { headers });
    const levels = await current.body.json() as { users?: Record<string, number> };
    const content = { ...levels, users: { ...(levels.users ?? {}), [subject]: 100 } };
    const response = await request(`${baseUrl}${path}`, { method: 'PUT', body: JSON.stringify(content), headers });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${owner.account.address} could not set m.room.power_levels in ${room.id}: HTTP ${response.statusCode} ${text.slice(0, 300)}`);
    return `m.room.power_levels users[${subject}] = 100 in ${room.id}`;
  }
  const iq = xml('iq', { type: 'set', to: room.id },
    xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xml('item', { affiliation: 'admin', jid: subject })));
  try {
    await stanzaSession(owner).iqCaller.request(iq, 15_000);
  } catch (error) {
    if (error instanceof Error && error.name === 'StanzaError') throw new ConformanceFailure(`${room.id} refused to make ${subject} an admin: ${error.message}`);
    throw error;
  }
  return `muc#admin admin affiliation for ${subject} in ${room.id}`;
}

/**
 * An XMPP room's owner destroys it (XEP-0045 §10.9 "Destroying a Room": muc#owner <destroy/>); resolves with what
 * was sent. Matrix rooms have no owner's destroy: there the operator shuts a room down (provisioning/operator.ts).
 */
export async function destroyXmppRoom(owner: ChatClient, room: Conversation, reason: string): Promise<string> {
  const iq = xml('iq', { type: 'set', to: room.id },
    xml('query', { xmlns: 'http://jabber.org/protocol/muc#owner' }, xml('destroy', {}, xml('reason', {}, reason))));
  try {
    await stanzaSession(owner).iqCaller.request(iq, 15_000);
  } catch (error) {
    if (error instanceof Error && error.name === 'StanzaError') throw new ConformanceFailure(`${room.id} refused its owner's destroy: ${error.message}`);
    throw error;
  }
  return `muc#owner destroy of ${room.id} (reason "${reason}")`;
}
