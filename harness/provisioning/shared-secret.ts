import { createHmac } from 'node:crypto';
import { request } from 'undici';
import type { OrganisationDescription, Provisioning } from '../lab/types.ts';
import { readSecret } from './secrets.ts';

type Method = Extract<Provisioning, { method: 'synapse-shared-secret' }>;

async function httpJson(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await request(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  const text = await response.body.text();
  try {
    const value: unknown = JSON.parse(text);
    return { status: response.statusCode, body: value && typeof value === 'object' ? value as Record<string, unknown> : {} };
  } catch {
    return { status: response.statusCode, body: { text: text.slice(0, 300) } };
  }
}

/** errcode and error of a server answer, never the request (which carries the password and mac). */
function describeBody(body: Record<string, unknown>): string {
  const errcode = typeof body.errcode === 'string' ? body.errcode : '';
  const error = typeof body.error === 'string' ? body.error : typeof body.text === 'string' ? body.text : '';
  return [errcode, error].filter(Boolean).join(': ') || '(no error text)';
}

/**
 * Shared-secret registration (`/_synapse/admin/v1/register`, implemented by Synapse and Dendrite):
 * GET a nonce, POST the user with an HMAC-SHA1 over nonce, user, password and admin flag.
 * A refusal here is a set-up failure (ERROR), not a verdict on the product.
 */
export async function registerWithSharedSecret(org: OrganisationDescription, method: Method, localpart: string, password: string): Promise<string> {
  return (await register(org, method, localpart, password, false)).userId;
}

/**
 * A server administrator's access token (an admin account registered with the shared secret), for the operator's
 * view and actions (GST-MARKED, GST-REVOKE). The token stays in the caller; nothing prints it.
 */
export async function adminTokenWithSharedSecret(org: OrganisationDescription, method: Method, localpart: string, password: string): Promise<string> {
  const { token } = await register(org, method, localpart, password, true);
  if (!token) throw new Error(`provisioning the operator ${localpart} on ${org.name}: the registration answer carried no access token`);
  return token;
}

async function register(org: OrganisationDescription, method: Method, localpart: string, password: string, admin: boolean): Promise<{ userId: string; token?: string }> {
  if (!/^[a-z0-9._=\-/+]+$/.test(localpart)) throw new Error(`not a valid Matrix localpart: ${JSON.stringify(localpart)}`);
  const secret = readSecret(method.secret);
  const url = `${method.adminUrl.replace(/\/$/, '')}/_synapse/admin/v1/register`;
  const nonceAnswer = await httpJson('GET', url);
  const nonce = nonceAnswer.body.nonce;
  if (nonceAnswer.status !== 200 || typeof nonce !== 'string') {
    throw new Error(`provisioning ${localpart} on ${org.name}: GET ${url} answered ${nonceAnswer.status} ${describeBody(nonceAnswer.body)}`);
  }
  const mac = createHmac('sha1', secret).update([nonce, localpart, password, admin ? 'admin' : 'notadmin'].join('\0')).digest('hex');
  const registered = await httpJson('POST', url, { nonce, username: localpart, password, admin, mac });
  const userId = registered.body.user_id;
  if (registered.status !== 200 || typeof userId !== 'string') {
    throw new Error(`provisioning ${localpart} on ${org.name}: POST ${url} answered ${registered.status} ${describeBody(registered.body)}`);
  }
  const token = registered.body.access_token;
  return { userId, ...(typeof token === 'string' ? { token } : {}) };
}
