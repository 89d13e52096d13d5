import { createServer } from 'node:net';
import { InputError } from '../../config/input-error.ts';
import type { OrgName } from '../types.ts';

/**
 * The loopback addresses the native lab owns. FEDCONF_LAB_NET picks the /24 (default 127.77.1):
 * org-a .11, org-b .12, org-c .13, the lab DNS .53, and .14 for `probe.test`, the name a probe that plays a
 * federation peer itself (FED-AUTH, SEC-BAD-INPUT) binds while a scenario runs.
 */
export function labAddresses(net = process.env.FEDCONF_LAB_NET ?? '127.77.1'): { orgs: Record<OrgName, string>; dns: string; probe: string } {
  if (!/^127\.\d{1,3}\.\d{1,3}$/.test(net)) {
    throw new InputError('FEDCONF_LAB_NET', [`"${net}" is not a loopback /24 prefix`], 'Use three octets starting with 127, e.g. FEDCONF_LAB_NET=127.77.1');
  }
  return { orgs: { 'org-a': `${net}.11`, 'org-b': `${net}.12`, 'org-c': `${net}.13` }, dns: `${net}.53`, probe: `${net}.14` };
}

/** Resolves true when nothing holds address:port (tries to bind it for a moment). */
export function portFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Throws a clear message when another process already holds one of the lab's ports. */
export async function assertPortsFree(address: string, ports: readonly number[]): Promise<void> {
  const busy: number[] = [];
  for (const port of ports) if (!(await portFree(address, port))) busy.push(port);
  if (busy.length) {
    throw new Error(`${address}: port ${busy.join(', ')} is already in use by another process. ` +
      'Run `fedconf lab down` if it is a lab of ours, or choose another address block with FEDCONF_LAB_NET=127.x.y.');
  }
}
