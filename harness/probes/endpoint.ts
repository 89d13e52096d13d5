import { Resolver } from 'node:dns/promises';

export interface ResolvedEndpoint {
  /** The name as declared (also the TLS server name when it is one). */
  host: string;
  address: string;
  port: number;
}

/**
 * A declared `host:port` (or `scheme://host:port`) resolved the way a client of the lab would: names through the
 * lab DNS when there is one, `fallback` when the name does not resolve there.
 */
export async function resolveEndpoint(endpoint: string, dnsAddress: string | undefined, fallback: string): Promise<ResolvedEndpoint> {
  const match = endpoint.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '').match(/^(.*):(\d+)$/);
  if (!match) throw new Error(`endpoint ${JSON.stringify(endpoint)} is not host:port`);
  const [, host, port] = match as [string, string, string];
  let address = host;
  if (!/^[\d.]+$/.test(host)) {
    address = fallback;
    if (dnsAddress) {
      const resolver = new Resolver({ timeout: 2000, tries: 1 });
      resolver.setServers([dnsAddress]);
      address = (await resolver.resolve4(host).catch(() => []))[0] ?? fallback;
    }
  }
  return { host, address, port: Number(port) };
}
