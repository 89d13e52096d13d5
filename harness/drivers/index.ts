import type { Protocol } from '../lab/types.ts';
import type { ProtocolDriver } from './driver.ts';
import { matrixDriver } from './matrix.ts';
import { xmppDriver } from './xmpp.ts';

export function driverFor(protocol: Protocol): ProtocolDriver {
  return protocol === 'matrix' ? matrixDriver : xmppDriver;
}
