import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnServer, type LabProcess } from './processes.ts';
import { portAccepts, waitUntil } from './wait.ts';

export interface DnsRecords {
  /** name → IPv4 address */
  hosts: Array<{ name: string; address: string }>;
  /** SRV records: service name (`_xmpp-server._tcp.org-a.test`) → target:port */
  srv: Array<{ service: string; target: string; port: number }>;
}

/**
 * The lab's own DNS (dnsmasq): answers only the lab's `.test` names and forwards nothing,
 * so no lookup for a lab name ever leaves the machine.
 */
export async function startDns(dir: string, address: string, records: DnsRecords): Promise<LabProcess> {
  const conf = join(dir, 'dnsmasq.conf');
  writeFileSync(conf, [
    'port=53',
    `listen-address=${address}`,
    'bind-interfaces',
    'no-resolv',
    'no-hosts',
    'no-poll',
    'local=/test/',
    'keep-in-foreground',
    'user=root',
    ...records.hosts.map((h) => `host-record=${h.name},${h.address}`),
    ...records.srv.map((s) => `srv-host=${s.service},${s.target},${s.port},0,0`),
    '',
  ].join('\n'));
  const proc = spawnServer({
    name: 'dns',
    command: 'dnsmasq',
    args: [`--conf-file=${conf}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--log-facility=-'],
    marker: conf,
    logFile: join(dir, 'dnsmasq.log'),
  });
  await waitUntil(`dnsmasq on ${address}:53`, async () => portAccepts(address, 53), 5000);
  return proc;
}

/** A resolv.conf that names only the lab DNS, for servers that read resolv.conf (see synapse launch). */
export function writeResolvConf(dir: string, dnsAddress: string): string {
  const file = join(dir, 'resolv.conf');
  writeFileSync(file, `nameserver ${dnsAddress}\noptions timeout:1 attempts:1\n`);
  return file;
}
