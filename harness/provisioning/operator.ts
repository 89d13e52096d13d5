import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import type { OrganisationDescription } from '../lab/types.ts';
import { deleteWithEjabberdctl, kickSessionWithEjabberdctl, listSessionsWithEjabberdctl, resourcesWithEjabberdctl } from './ejabberdctl.ts';
import { closeSessionsWithProsodyctl, deleteWithProsodyctl, listSessionsWithProsodyctl } from './prosodyctl.ts';
import { adminTokenWithSharedSecret } from './shared-secret.ts';

/**
 * The operator's view of and actions on a user (GST-MARKED, GST-REVOKE), through the admin access the
 * organisation's provisioning method gives: Synapse's admin API with an admin account registered by shared
 * secret, `prosodyctl shell`, `ejabberdctl`. undefined wherever the declaration gives the harness no admin access.
 */

/** What an operator's tool answered: the call, its answer for the evidence, and for Matrix the parsed record. */
export interface OperatorAnswer {
  command: string;
  status?: number;
  answer: string;
  fields?: Record<string, unknown>;
}

/** One admin token per organisation and worker process; it never leaves this module. */
const adminTokens = new Map<string, Promise<string>>();
/** The operator account's localpart per organisation (the actor the audit records must name). */
const operatorLocalparts = new Map<string, string>();

function adminToken(org: OrganisationDescription): Promise<string> {
  const method = org.provisioning;
  if (method.method !== 'synapse-shared-secret') throw new Error(`${org.name}: no Matrix admin access through ${method.method}`);
  let token = adminTokens.get(org.domain);
  if (!token) {
    const localpart = `fedconf-operator-${randomBytes(3).toString('hex')}`;
    operatorLocalparts.set(org.domain, localpart);
    token = adminTokenWithSharedSecret(org, method, localpart, randomBytes(18).toString('base64url'));
    token.catch(() => adminTokens.delete(org.domain));
    adminTokens.set(org.domain, token);
  }
  return token;
}

/** The operator's own account (Matrix: the admin user the harness registered), once it has acted; else undefined. */
export function operatorAddress(org: OrganisationDescription): string | undefined {
  const localpart = operatorLocalparts.get(org.domain);
  return localpart && org.provisioning.method === 'synapse-shared-secret' ? `@${localpart}:${org.domain}` : undefined;
}

async function adminCall(org: OrganisationDescription, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<OperatorAnswer> {
  if (org.provisioning.method !== 'synapse-shared-secret') throw new Error(`${org.name}: no Matrix admin access`);
  const token = await adminToken(org);
  const response = await request(`${org.provisioning.adminUrl.replace(/\/$/, '')}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await response.body.text();
  let fields: Record<string, unknown> | undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object') fields = value as Record<string, unknown>;
  } catch {
    // not JSON: the answer text is the evidence
  }
  return { command: `${method} ${path}`, status: response.statusCode, answer: text.slice(0, 600), ...(fields ? { fields } : {}) };
}

const hostOf = (address: string): string => address.replace(/^@/, '').split(/[:@]/).slice(1).join(':').split('/')[0] ?? '';

/**
 * The operator looks `address` up: Matrix GET /_synapse/admin/v2/users/<id> (the account record, with is_guest);
 * XMPP the session listing of the host the address is on (a guest's JID is on the organisation's anonymous host).
 */
export async function operatorLooksUp(org: OrganisationDescription, address: string): Promise<OperatorAnswer | undefined> {
  const method = org.provisioning;
  switch (method.method) {
    case 'synapse-shared-secret':
      return adminCall(org, 'GET', `/_synapse/admin/v2/users/${encodeURIComponent(address)}`);
    case 'prosodyctl':
      return { command: `prosodyctl shell c2s:show() (sessions on ${hostOf(address)})`, answer: await listSessionsWithProsodyctl(org, method, hostOf(address)) };
    case 'ejabberdctl':
      return { command: `ejabberdctl connected_users_vhost ${hostOf(address)}`, answer: await listSessionsWithEjabberdctl(org, method, hostOf(address)) };
    case 'pre-created':
      return undefined;
  }
}

/**
 * The operator reads a room's recent events as the server stores them (Synapse admin API
 * GET /_synapse/admin/v1/rooms/<id>/messages, which needs no membership): E2E-BLIND looks there for plaintext.
 * undefined where the organisation gives the harness no such admin API.
 */
export async function operatorReadsRoomMessages(org: OrganisationDescription, roomId: string): Promise<OperatorAnswer | undefined> {
  if (org.provisioning.method !== 'synapse-shared-secret') return undefined;
  return adminCall(org, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`);
}

/**
 * The operator removes a guest: Matrix deactivates the account (POST /_synapse/admin/v1/deactivate/<id>, which
 * logs out its devices and makes it leave its rooms) and locks it (PUT /_synapse/admin/v2/users/<id> locked); XMPP ends every session of the JID (an anonymous JID exists
 * only while its session does). Returns the answers for the evidence; undefined: no admin access.
 */
export async function operatorRemovesGuest(org: OrganisationDescription, address: string): Promise<OperatorAnswer[] | undefined> {
  const method = org.provisioning;
  switch (method.method) {
    case 'synapse-shared-secret': {
      // Deactivation leaves the rooms and deletes the stored tokens, but Synapse's guest tokens are macaroons it
      // never stores (measured: a deactivated guest rejoined with its token); locking the account refuses them.
      const user = encodeURIComponent(address);
      const deactivated = await adminCall(org, 'POST', `/_synapse/admin/v1/deactivate/${user}`, { erase: false });
      if (deactivated.status !== 200) return [deactivated];
      return [deactivated, await adminCall(org, 'PUT', `/_synapse/admin/v2/users/${user}`, { locked: true })];
    }
    case 'prosodyctl':
      return [{ command: `prosodyctl shell c2s close ${address}`, answer: await closeSessionsWithProsodyctl(org, method, address) }];
    case 'ejabberdctl': {
      const resources = await resourcesWithEjabberdctl(org, method, address);
      const answers: OperatorAnswer[] = [{ command: `ejabberdctl user_resources ${address}`, answer: resources.join(', ') || '(none)' }];
      for (const resource of resources) {
        answers.push({ command: `ejabberdctl kick_session ${address} ${resource}`, answer: await kickSessionWithEjabberdctl(org, method, address, resource) });
      }
      return answers;
    }
    case 'pre-created':
      return undefined;
  }
}

/** Synapse's own Admin API (Dendrite shares the shared-secret registration, not these endpoints). */
const hasSynapseAdminApi = (org: OrganisationDescription): boolean =>
  org.provisioning.method === 'synapse-shared-secret' && org.implementation === 'synapse';

/** Fails with the admin API's answer unless it is 200 (the caller's action did not happen). */
function succeeded(answer: OperatorAnswer): OperatorAnswer {
  if (answer.status !== 200) throw new Error(`${answer.command}: HTTP ${answer.status} ${answer.answer}`);
  return answer;
}

/** The operator deactivates an account (Synapse Admin API "Deactivate Account"); undefined: no such admin access. */
export async function operatorDeactivates(org: OrganisationDescription, address: string): Promise<OperatorAnswer | undefined> {
  if (!hasSynapseAdminApi(org)) return undefined;
  return succeeded(await adminCall(org, 'POST', `/_synapse/admin/v1/deactivate/${encodeURIComponent(address)}`, { erase: false }));
}

/**
 * The operator makes an account a server administrator (Synapse Admin API "Create or modify account", `admin`);
 * undefined where the server's administrators are not granted at run time (XMPP: the config's `admins`).
 */
export async function operatorMakesServerAdmin(org: OrganisationDescription, address: string): Promise<OperatorAnswer | undefined> {
  if (!hasSynapseAdminApi(org)) return undefined;
  return succeeded(await adminCall(org, 'PUT', `/_synapse/admin/v2/users/${encodeURIComponent(address)}`, { admin: true }));
}

/**
 * The operator shuts a room down (Synapse Admin API "Delete Room", v2: the members are removed and the room
 * blocked in the background); undefined: no admin access.
 */
export async function operatorShutsDownRoom(org: OrganisationDescription, roomId: string): Promise<OperatorAnswer | undefined> {
  if (!hasSynapseAdminApi(org)) return undefined;
  return succeeded(await adminCall(org, 'DELETE', `/_synapse/admin/v2/rooms/${encodeURIComponent(roomId)}`, { block: true, purge: false }));
}

/**
 * AUD-RECORDS: the operator compiles a room's messages for a public-records request. Matrix: Synapse's Admin API
 * "Room Messages" (GET /_synapse/admin/v1/rooms/<roomId>/messages, oldest first; `fields` holds the whole JSON
 * answer). XMPP: undefined — neither prosodyctl (0.12) nor ejabberdctl (23.01) has a command that reads a room's
 * archive (ejabberd's export_piefxis leaves out MAM and MUC). undefined too without admin access. operatorFindsRoom:
 * the search before it, Synapse's Admin API "List Room" by name (GET /_synapse/admin/v1/rooms?search_term=).
 */
export async function operatorFindsRoom(org: OrganisationDescription, name: string): Promise<OperatorAnswer | undefined> {
  if (org.provisioning.method !== 'synapse-shared-secret') return undefined;
  return adminCall(org, 'GET', `/_synapse/admin/v1/rooms?search_term=${encodeURIComponent(name)}`);
}

export async function operatorCompilesRoom(org: OrganisationDescription, roomId: string): Promise<OperatorAnswer | undefined> {
  if (org.provisioning.method !== 'synapse-shared-secret') return undefined;
  return adminCall(org, 'GET', `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/messages?dir=f&limit=1000`);
}

/**
 * RET-MEDIA: the operator deletes one file its server holds (Synapse admin API DELETE /_synapse/admin/v1/media/<server>/<id>;
 * for another server's file this drops the local cached copy). undefined where the harness has no Matrix admin access.
 */
export async function operatorDeletesMedia(org: OrganisationDescription, mxc: string): Promise<OperatorAnswer | undefined> {
  if (org.provisioning.method !== 'synapse-shared-secret') return undefined;
  const [server, mediaId] = mxc.replace(/^mxc:\/\//, '').split('/');
  return adminCall(org, 'DELETE', `/_synapse/admin/v1/media/${encodeURIComponent(server ?? '')}/${encodeURIComponent(mediaId ?? '')}`);
}

/** RET-MEDIA: the operator purges the cache of other servers' files older than `beforeTs` (POST /_synapse/admin/v1/purge_media_cache). */
export async function operatorPurgesRemoteMedia(org: OrganisationDescription, beforeTs: number): Promise<OperatorAnswer | undefined> {
  if (org.provisioning.method !== 'synapse-shared-secret') return undefined;
  return adminCall(org, 'POST', `/_synapse/admin/v1/purge_media_cache?before_ts=${beforeTs}`, {});
}

/**
 * RET-ERASE: the operator closes `address`'s account at the person's request for erasure (GDPR art. 17). Matrix: the
 * admin API's deactivation with `erase: true` (Synapse; marks the user erased, clears display name and avatar);
 * where that API is missing (Dendrite), the spec's own POST /_matrix/client/v3/account/deactivate with `erase: true`,
 * authenticated with the person's password (`password`). XMPP servers have no erasure of their own: the account is
 * deleted (`prosodyctl deluser`, `ejabberdctl unregister`). Returns the answers for the evidence.
 */
export async function operatorErasesAccount(org: OrganisationDescription, address: string, password: string): Promise<OperatorAnswer[]> {
  const method = org.provisioning;
  switch (method.method) {
    case 'synapse-shared-secret': {
      const admin = await adminCall(org, 'POST', `/_synapse/admin/v1/deactivate/${encodeURIComponent(address)}`, { erase: true });
      if (admin.status === 200) return [admin];
      return [admin, ...await deactivateWithErasure(method.adminUrl, address, password)];
    }
    case 'prosodyctl':
      await deleteWithProsodyctl(org, method, address);
      return [{ command: `prosodyctl deluser ${address}`, answer: 'done' }];
    case 'ejabberdctl':
      await deleteWithEjabberdctl(org, method, address);
      return [{ command: `ejabberdctl unregister ${address}`, answer: 'done' }];
    case 'pre-created':
      throw new Error(`${org.name}: no operator access to close accounts (pre-created accounts)`);
  }
}

/**
 * The spec's self-service deactivation with erasure, as the person: a password login for an access token, then
 * POST /account/deactivate with the user-interactive auth round (the password again).
 */
async function deactivateWithErasure(baseUrl: string, address: string, password: string): Promise<OperatorAnswer[]> {
  const call = async (path: string, body: Record<string, unknown>, token?: string): Promise<OperatorAnswer> => {
    const response = await request(`${baseUrl.replace(/\/$/, '')}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body), headersTimeout: 30_000, bodyTimeout: 30_000,
    });
    const text = await response.body.text();
    let fields: Record<string, unknown> | undefined;
    try {
      fields = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // the text is the evidence
    }
    // The login answer holds the new access token: never in the evidence.
    const answer = typeof fields?.access_token === 'string' ? '(logged in)' : text.slice(0, 600);
    return { command: `POST ${path}${path.endsWith('deactivate') ? ' (erase: true)' : ''}`, status: response.statusCode, answer, ...(fields ? { fields } : {}) };
  };
  const identifier = { type: 'm.id.user', user: address };
  const login = await call('/_matrix/client/v3/login', { type: 'm.login.password', identifier, password });
  const token = typeof login.fields?.access_token === 'string' ? login.fields.access_token : undefined;
  const { fields: _secret, ...loginEvidence } = login;
  if (!token) return [loginEvidence];
  const path = '/_matrix/client/v3/account/deactivate';
  const first = await call(path, { erase: true }, token);
  if (first.status !== 401) return [loginEvidence, first];
  const session = typeof first.fields?.session === 'string' ? first.fields.session : undefined;
  const auth = { type: 'm.login.password', identifier, password, ...(session ? { session } : {}) };
  return [loginEvidence, first, await call(path, { erase: true, auth }, token)];
}
