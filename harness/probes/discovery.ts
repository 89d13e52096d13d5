/**
 * Federation discovery the way a peer does it, from the bare domain, asking only the lab's DNS:
 * Matrix Server-Server API §2.1 "Resolving server names"; XMPP RFC 6120 §3.2 (SRV `_xmpp-server._tcp`,
 * then the domain's address on 5269). Plus the identity the endpoint answers with (Matrix server keys).
 */
import { createPublicKey, verify } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';

export interface DiscoveredEndpoint {
  /** Host to connect to (an address) and the port. */
  address: string;
  port: number;
  /** The host name the endpoint was found under (the TLS name is still the server name). */
  host: string;
  /** Each step tried, in order, for the evidence. */
  steps: string[];
}

/** The lab's DNS when there is one (lab names never go to the machine's resolver); else the system's, for real domains. */
function resolver(dnsAddress: string | undefined): Resolver {
  const r = new Resolver({ timeout: 2000, tries: 1 });
  if (dnsAddress) r.setServers([dnsAddress]);
  return r;
}

async function firstA(r: Resolver, host: string, steps: string[]): Promise<string | undefined> {
  try {
    const [address] = await r.resolve4(host);
    steps.push(`A ${host} → ${address ?? 'none'}`);
    return address;
  } catch (error) {
    steps.push(`A ${host} → ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    return undefined;
  }
}

async function srv(r: Resolver, name: string, steps: string[]): Promise<{ name: string; port: number } | undefined> {
  try {
    const records = (await r.resolveSrv(name)).sort((a, b) => a.priority - b.priority || b.weight - a.weight);
    steps.push(`SRV ${name} → ${records.map((x) => `${x.name}:${x.port}`).join(', ') || 'none'}`);
    return records[0];
  } catch (error) {
    steps.push(`SRV ${name} → ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    return undefined;
  }
}

/**
 * Matrix: /.well-known/matrix/server on https://<domain>/ (443), then SRV `_matrix-fed._tcp`, then the
 * deprecated `_matrix._tcp`, then the domain's address on 8448 (Server-Server API §2.1 steps 3–6; the
 * lab's server names carry no port or IP literal, so steps 1–2 do not apply).
 */
export async function discoverMatrix(domain: string, dnsAddress: string | undefined, caFile: string): Promise<DiscoveredEndpoint> {
  const r = resolver(dnsAddress);
  const steps: string[] = [];
  const domainAddress = await firstA(r, domain, steps);
  if (domainAddress) {
    const agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8'), servername: domain, lookup: (_h, _o, cb) => cb(null, [{ address: domainAddress, family: 4 }]) } });
    try {
      const response = await request(`https://${domain}/.well-known/matrix/server`, { dispatcher: agent, headersTimeout: 3000, bodyTimeout: 3000 });
      const text = await response.body.text();
      steps.push(`GET https://${domain}/.well-known/matrix/server → ${response.statusCode} ${text.slice(0, 200)}`);
      if (response.statusCode === 200) {
        const delegated = (JSON.parse(text) as { 'm.server'?: unknown })['m.server'];
        if (typeof delegated === 'string') {
          const [host, port] = delegated.split(':');
          const address = host ? await firstA(r, host, steps) : undefined;
          if (host && address) return { address, port: port ? Number(port) : 8448, host, steps };
        }
      }
    } catch (error) {
      steps.push(`GET https://${domain}/.well-known/matrix/server → ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (fall back to SRV)`);
    } finally {
      await agent.close();
    }
  }
  for (const name of [`_matrix-fed._tcp.${domain}`, `_matrix._tcp.${domain}`]) {
    const record = await srv(r, name, steps);
    if (record) {
      const address = await firstA(r, record.name, steps);
      if (address) return { address, port: record.port, host: record.name, steps };
    }
  }
  if (domainAddress) {
    steps.push(`fallback: ${domain} on port 8448`);
    return { address: domainAddress, port: 8448, host: domain, steps };
  }
  throw new Error(`no federation endpoint for ${domain}: ${steps.join('; ')}`);
}

/** XMPP: SRV `_xmpp-server._tcp.<domain>`, then the domain's address on 5269 (RFC 6120 §3.2.1, §3.2.2). */
export async function discoverXmpp(domain: string, dnsAddress: string | undefined): Promise<DiscoveredEndpoint> {
  const r = resolver(dnsAddress);
  const steps: string[] = [];
  const record = await srv(r, `_xmpp-server._tcp.${domain}`, steps);
  if (record) {
    const address = await firstA(r, record.name, steps);
    if (address) return { address, port: record.port, host: record.name, steps };
  }
  const address = await firstA(r, domain, steps);
  if (address) {
    steps.push(`fallback: ${domain} on port 5269`);
    return { address, port: 5269, host: domain, steps };
  }
  throw new Error(`no s2s endpoint for ${domain}: ${steps.join('; ')}`);
}

/** Matrix canonical JSON (Appendices §3.1): sorted keys, no insignificant whitespace, UTF-8 unescaped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isInteger(value)) throw new Error(`canonical JSON allows integers only, got ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const ed25519SpkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');
const unpaddedBase64 = (text: string): Buffer => Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');

export interface ServerKeysCheck {
  serverName?: string;
  validUntilTs?: number;
  keyIds: string[];
  /** key id → signature verified over the canonical JSON. */
  signatures: Record<string, boolean>;
  problems: string[];
  raw: string;
}

/** GET /_matrix/key/v2/server on the discovered endpoint, over TLS checked against the lab CA for `domain`. */
export async function matrixServerKeys(endpoint: DiscoveredEndpoint, domain: string, caFile: string, now = Date.now()): Promise<ServerKeysCheck> {
  const agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8'), servername: domain, rejectUnauthorized: true } });
  try {
    const url = `https://${endpoint.address}:${endpoint.port}/_matrix/key/v2/server`;
    const response = await request(url, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const raw = await response.body.text();
    const problems: string[] = [];
    if (response.statusCode !== 200) return { keyIds: [], signatures: {}, problems: [`${url} answered ${response.statusCode}`], raw };
    const body = JSON.parse(raw) as {
      server_name?: unknown; valid_until_ts?: unknown;
      verify_keys?: Record<string, { key?: unknown }>; signatures?: Record<string, Record<string, string>>;
    };
    const serverName = typeof body.server_name === 'string' ? body.server_name : undefined;
    const validUntilTs = typeof body.valid_until_ts === 'number' ? body.valid_until_ts : undefined;
    if (serverName !== domain) problems.push(`server_name is ${JSON.stringify(body.server_name)}, expected ${JSON.stringify(domain)}`);
    if (validUntilTs === undefined) problems.push('no valid_until_ts');
    else if (validUntilTs <= now) problems.push(`valid_until_ts ${validUntilTs} (${new Date(validUntilTs).toISOString()}) is not in the future (now ${new Date(now).toISOString()})`);
    const keyIds = Object.keys(body.verify_keys ?? {});
    if (keyIds.length === 0) problems.push('no verify_keys');
    const { signatures: sigs, unsigned: _unsigned, ...signed } = body as Record<string, unknown> & { signatures?: Record<string, Record<string, string>> };
    const message = Buffer.from(canonicalJson(signed), 'utf8');
    const signatures: Record<string, boolean> = {};
    for (const keyId of keyIds) {
      const key = body.verify_keys?.[keyId]?.key;
      const signature = sigs?.[domain]?.[keyId];
      if (typeof key !== 'string' || typeof signature !== 'string') {
        signatures[keyId] = false;
        problems.push(`key ${keyId}: ${typeof signature !== 'string' ? `no signature by ${domain}` : 'no public key'}`);
        continue;
      }
      const publicKey = createPublicKey({ key: Buffer.concat([ed25519SpkiPrefix, unpaddedBase64(key)]), format: 'der', type: 'spki' });
      signatures[keyId] = verify(null, message, publicKey, unpaddedBase64(signature));
      if (!signatures[keyId]) problems.push(`key ${keyId}: the ed25519 signature does not verify over the canonical JSON`);
    }
    return { ...(serverName ? { serverName } : {}), ...(validUntilTs !== undefined ? { validUntilTs } : {}), keyIds, signatures, problems, raw };
  } finally {
    await agent.close();
  }
}
