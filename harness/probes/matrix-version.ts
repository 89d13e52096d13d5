import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';

/**
 * The software version a Matrix homeserver reports on its federation API
 * (Server-Server API §2.2 "GET /_matrix/federation/v1/version"), over TLS checked against `caFile`
 * (or the system store) with `serverName` as the TLS server name.
 */
export async function matrixServerVersion(federationUrl: string, serverName: string, caFile?: string): Promise<{ name: string; version: string }> {
  const agent = new Agent({ connect: { ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}), servername: serverName } });
  try {
    const url = `${federationUrl.replace(/\/$/, '')}/_matrix/federation/v1/version`;
    const response = await request(url, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${url} answered ${response.statusCode}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { server?: { name?: unknown; version?: unknown } };
    const { name, version } = body.server ?? {};
    if (typeof version !== 'string' || version === '') throw new Error(`${url} gave no server.version: ${text.slice(0, 300)}`);
    return { name: typeof name === 'string' ? name : 'unknown', version };
  } finally {
    await agent.close();
  }
}
