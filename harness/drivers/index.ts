import type { LabDescription } from '../lab/types.ts';
import type { ProtocolDriver } from './driver.ts';
import { matrixDriver } from './matrix.ts';
import { trustLabCa, useLabDns, xmppDriver } from './xmpp.ts';

/** The driver for the protocol the lab's product speaks, set up to trust the lab's CA. */
export function driverFor(lab: LabDescription): ProtocolDriver {
  if (lab.organisations['org-a'].protocol === 'matrix') return matrixDriver;
  trustLabCa(lab.caFile);
  useLabDns(lab.dnsAddress);
  return xmppDriver;
}
