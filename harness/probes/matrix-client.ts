/**
 * Raw Matrix client-server calls around a session, below the driver: password login, whoami, logout.
 * Probes use them to see each answer as the server gave it (status, errcode, retry_after_ms). Access
 * tokens stay inside the caller; describe() never prints one.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';

export interface MatrixAnswer {
  status: number;
  errcode?: string;
  error?: string;
  retryAfterMs?: number;
  body: Record<string, unknown>;
  ms: number;
}

async function call(method: 'GET' | 'POST', url: string, body?: unknown, token?: string, newConnection = false): Promise<MatrixAnswer> {
  const started = performance.now();
  const response = await request(url, {
    method,
    // reset: the connection closes after this request, so the next one arrives on a new connection.
    ...(newConnection ? { reset: true } : {}),
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  const text = await response.body.text();
  let parsed: Record<string, unknown> = {};
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object') parsed = value as Record<string, unknown>;
  } catch {
    parsed = { text: text.slice(0, 300) };
  }
  const header = response.headers['retry-after'];
  const retryAfterMs = typeof parsed.retry_after_ms === 'number' ? parsed.retry_after_ms
    : typeof header === 'string' && /^\d+$/.test(header) ? Number(header) * 1000 : undefined;
  return {
    status: response.statusCode,
    ...(typeof parsed.errcode === 'string' ? { errcode: parsed.errcode } : {}),
    ...(typeof parsed.error === 'string' ? { error: parsed.error } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    body: parsed,
    ms: Math.round(performance.now() - started),
  };
}

const base = (clientUrl: string) => clientUrl.replace(/\/$/, '');

/**
 * POST /_matrix/client/v3/login with m.login.password (Client-Server API §"Login"). `newConnection`: on a
 * connection of its own, as a password-guessing tool makes each attempt.
 */
export function passwordLogin(clientUrl: string, user: string, password: string, extra: Record<string, unknown> = {}, newConnection = false): Promise<MatrixAnswer> {
  return call('POST', `${base(clientUrl)}/_matrix/client/v3/login`, {
    type: 'm.login.password', identifier: { type: 'm.id.user', user }, password, initial_device_display_name: 'fedconf probe', ...extra,
  }, undefined, newConnection);
}

export function whoami(clientUrl: string, token: string): Promise<MatrixAnswer> {
  return call('GET', `${base(clientUrl)}/_matrix/client/v3/account/whoami`, undefined, token);
}

/** GET (or POST an empty body to) an arbitrary path, e.g. an admin endpoint, with a user's access token. */
export function callWithToken(method: 'GET' | 'POST', clientUrl: string, path: string, token: string): Promise<MatrixAnswer> {
  return call(method, `${base(clientUrl)}${path}`, method === 'POST' ? {} : undefined, token);
}

export function logout(clientUrl: string, token: string): Promise<MatrixAnswer> {
  return call('POST', `${base(clientUrl)}/_matrix/client/v3/logout`, {}, token);
}

/**
 * GET /_matrix/client/versions over TLS at `baseUrl` (https://host:port), the certificate checked against
 * `caFile` for `serverName`: shows that the TLS endpoint really serves the client API.
 */
export async function clientVersionsOverTls(baseUrl: string, serverName: string, caFile: string): Promise<{ status: number; versions: string[] }> {
  const agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8'), servername: serverName } });
  try {
    const response = await request(`${base(baseUrl)}/_matrix/client/versions`, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await response.body.text();
    let versions: string[] = [];
    try {
      const parsed = JSON.parse(text) as { versions?: unknown };
      if (Array.isArray(parsed.versions)) versions = parsed.versions.filter((v): v is string => typeof v === 'string');
    } catch {
      // not JSON: no client API here
    }
    return { status: response.statusCode, versions };
  } finally {
    await agent.close();
  }
}

/** One line for the evidence: status, errcode, retry hint, time; never a token. */
export function describe(answer: MatrixAnswer): string {
  const keys = Object.keys(answer.body).filter((k) => k !== 'access_token' && k !== 'refresh_token');
  return `${answer.status}${answer.errcode ? ` ${answer.errcode}` : ''}${answer.error ? ` "${answer.error}"` : ''}`
    + `${answer.retryAfterMs !== undefined ? ` retry_after_ms=${answer.retryAfterMs}` : ''} (${answer.ms} ms; body keys: ${keys.join(', ') || '-'})`;
}
