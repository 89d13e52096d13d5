import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { OrganisationDescription } from '../lab/types.ts';
import type { Observation } from './compare.ts';

interface Answer { status: number; errcode?: string; body: string }

async function ask(url: string, method: 'GET' | 'POST', agent: Agent): Promise<Answer> {
  const response = await request(url, {
    method, dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000,
    ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}),
  });
  const body = await response.body.text();
  let errcode: string | undefined;
  try { errcode = (JSON.parse(body) as { errcode?: string }).errcode; } catch { /* not JSON */ }
  return { status: response.statusCode, ...(errcode ? { errcode } : {}), body };
}

/** Client-Server API §2: an endpoint a server does not implement answers 404 M_UNRECOGNIZED (older servers: 404/405 without it). */
function endpointAnswers(answer: Answer): boolean {
  if (answer.errcode === 'M_UNRECOGNIZED') return false;
  return answer.status !== 404 || answer.errcode !== undefined;
}

const describe = (method: string, path: string, a: Answer) => `${method} ${path} → ${a.status}${a.errcode ? ` ${a.errcode}` : ''}`;

/**
 * What a Matrix homeserver shows without logging in: its spec versions, and which endpoints exist. `log`
 * collects every request and answer for the evidence file.
 */
export async function observeMatrix(org: OrganisationDescription, caFile: string | undefined, log: string[]): Promise<Map<string, Observation>> {
  const seen = new Map<string, Observation>();
  const [fedHost, fedPort] = splitHostPort(org.federationEndpoint, 8448);
  const federationUrl = `https://${org.address || fedHost}:${fedPort}`;
  const clientUrl = org.clientUrl.replace(/\/$/, '');
  const agent = new Agent({ connect: { ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}), servername: fedHost } });
  const probe = async (id: string, base: string, method: 'GET' | 'POST', path: string, shown: (a: Answer) => boolean = endpointAnswers) => {
    try {
      const answer = await ask(`${base}${path}`, method, agent);
      log.push(`${describe(method, path, answer)}: ${answer.body.slice(0, 2000)}`);
      seen.set(id, { shown: shown(answer), detail: describe(method, path, answer) });
      return answer;
    } catch (error) {
      log.push(`${method} ${path}: ${(error as Error).message}`);
      seen.set(id, { shown: 'error', detail: `${method} ${path}: ${(error as Error).message}` });
      return undefined;
    }
  };
  try {
    await probe('federation-api', federationUrl, 'GET', '/_matrix/federation/v1/version', (a) => a.status === 200 && a.body.includes('"server"'));
    const versions = await probe('client-api', clientUrl, 'GET', '/_matrix/client/versions', (a) => a.status === 200);
    if (versions?.status === 200) {
      const body = JSON.parse(versions.body) as { versions?: string[]; unstable_features?: Record<string, boolean> };
      const advertised = body.versions ?? [];
      for (const version of advertised) seen.set(`spec:${version}`, { shown: true, detail: `/_matrix/client/versions lists ${version}` });
      const unstable = Object.entries(body.unstable_features ?? {}).filter(([, on]) => on).map(([name]) => name);
      log.push(`versions: ${advertised.join(' ')}`, `unstable_features enabled: ${unstable.join(' ') || '(none)'}`);
    }
    // Controls: if even a path no server implements "answers" on a listener, an answer there proves nothing.
    const meaningful = new Map<string, boolean>();
    for (const [base, path] of [[clientUrl, '/_matrix/client/v3/fedconf_no_such_endpoint'], [federationUrl, '/_matrix/federation/v1/fedconf_no_such_endpoint']] as const) {
      const control = await ask(`${base}${path}`, 'GET', agent).catch(() => undefined);
      log.push(`control: GET ${path} → ${control ? `${control.status}${control.errcode ? ` ${control.errcode}` : ''}` : 'no answer'}`);
      meaningful.set(base, control !== undefined && !endpointAnswers(control));
    }
    const endpointProbe = (id: string, base: string, method: 'GET' | 'POST', path: string) => probe(id, base, method, path).then(() => {
      if (!meaningful.get(base)) seen.set(id, { shown: 'error', detail: `${method} ${path}: the listener answers a nonexistent endpoint alike, so an answer proves nothing` });
    });
    await endpointProbe('media-config', clientUrl, 'GET', '/_matrix/client/v1/media/config');
    await endpointProbe('federation-profile-query', federationUrl, 'GET', `/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent(`@fedconf-probe:${org.domain}`)}`);
    await endpointProbe('presence', clientUrl, 'GET', `/_matrix/client/v3/presence/${encodeURIComponent(`@fedconf-probe:${org.domain}`)}/status`);
    await endpointProbe('keys-query', clientUrl, 'POST', '/_matrix/client/v3/keys/query');
    await endpointProbe('cross-signing', clientUrl, 'POST', '/_matrix/client/v3/keys/device_signing/upload');
    await endpointProbe('key-backup', clientUrl, 'GET', '/_matrix/client/v3/room_keys/version');
  } finally {
    await agent.close();
  }
  return seen;
}

function splitHostPort(endpoint: string, defaultPort: number): [string, number] {
  const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(endpoint);
  return [match?.[1] ?? endpoint, match?.[2] ? Number(match[2]) : defaultPort];
}
