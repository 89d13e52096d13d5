/**
 * Scenario helpers for probes that play a federation peer themselves (harness/probes/matrix-peer.ts,
 * xmpp-s2s-peer.ts) against org-a, plus the "does the server still serve org-b" check that follows bad input.
 */
import type { ChatClient, Conversation } from '../drivers/driver.ts';
import type { LabDescription, OrgName } from '../lab/types.ts';
import { MatrixPeer, type MatrixTarget } from '../probes/matrix-peer.ts';
import type { S2sTarget } from '../probes/xmpp-s2s-peer.ts';
import { ConformanceFailure, NotTestable } from '../verdict/failure.ts';
import { expectMessage } from './expect.ts';
import type { Session } from './scenario.ts';

/** The lab's probe name (probe.test) or NOT-RUN: an external deployment has no name the probe can answer on. */
export function peerProbeOf(lab: LabDescription): NonNullable<LabDescription['peerProbe']> {
  if (!lab.peerProbe) throw new NotTestable(`the ${lab.provider} lab offers no DNS name with a certificate for a probe peer (peerProbe), which this scenario needs`);
  return lab.peerProbe;
}

const portOf = (endpoint: string, fallback: number): number => Number(endpoint.match(/:(\d+)$/)?.[1] ?? fallback);

/** An organisation's federation endpoint (default org-a, the server under test) as the Matrix peer reaches it. */
export function matrixTargetOf(lab: LabDescription, name: OrgName = 'org-a'): MatrixTarget {
  const org = lab.organisations[name];
  return { serverName: org.domain, address: org.address, port: portOf(org.federationEndpoint, 8448) };
}

/** org-a's s2s endpoint. */
export function s2sTargetOf(lab: LabDescription): S2sTarget {
  const org = lab.organisations['org-a'];
  return { domain: org.domain, address: org.address, port: portOf(org.federationEndpoint, 5269) };
}

/** Starts the Matrix peer on probe.test for the scenario; its requests and what it was asked go to the evidence. */
export async function withMatrixPeer<T>(s: Session, body: (peer: MatrixPeer) => Promise<T>): Promise<T> {
  const probe = peerProbeOf(s.lab);
  const peer = new MatrixPeer({ domain: probe.domain, address: probe.address, tls: probe.tls, caFile: s.lab.caFile });
  await peer.start();
  s.note(`Matrix peer ${probe.domain} on ${probe.address}:8448, signing key ${peer.key.keyId}`);
  try {
    return await body(peer);
  } finally {
    s.note(`requests org-a made to the peer: ${peer.received.join(', ') || 'none'}`);
    await peer.stop();
  }
}

/**
 * A room on org-a with a member from org-b, set up before any bad input: `check()` then shows the server
 * still carries org-b's messages. The set-up itself failing is the harness's problem (ERROR), not a verdict.
 */
export async function orgBPath(s: Session): Promise<{ alice: ChatClient; bob: ChatClient; room: Conversation; ref: string; check: (label: string) => Promise<void> }> {
  const alice = await s.user('org-a', 'alice');
  const bob = await s.user('org-b', 'bob');
  const { conversation: room, ref } = await alice.createRoom('fedconf probe room');
  const bobRoom = await bob.joinRoom(ref);
  let n = 0;
  const check = async (label: string) => {
    n += 1;
    const body = `org-b still reaches org-a (${n}: ${label})`;
    await bob.send(bobRoom, body);
    await expectMessage(alice, room, { from: bob, body });
    s.note(`after ${label}: bob@org-b → alice@org-a delivered`);
  };
  try {
    await check('set-up, before any bad input');
  } catch (error) {
    throw new Error(`the org-b → org-a path does not work even before the probe: ${(error as Error).message}`);
  }
  return {
    alice, bob, room, ref,
    check: async (label) => {
      try {
        await check(label);
      } catch (error) {
        if (error instanceof ConformanceFailure) throw new ConformanceFailure(`the server stopped serving org-b after ${label}: ${error.message}`);
        throw error;
      }
    },
  };
}
