import { randomBytes } from 'node:crypto';
import type { EncryptedMatrixClient } from '../../harness/drivers/matrix-crypto.ts';
import type { Session } from '../../harness/scenario/scenario.ts';

/** What the Matrix e2ee scenarios share (e2e-matrix.test.ts, e2e-matrix-trust.test.ts). */

/** A sentence unique to this run, so a search of what the servers hold cannot hit an older run's message. */
export const secret = (who: string) => `${who} says the secret is ${randomBytes(6).toString('hex')}`;

/** Each crypto client's set-up cost in the evidence: only the scenarios that need crypto pay it. */
export function noteSetup(s: Session, clients: EncryptedMatrixClient[]): void {
  for (const c of clients) {
    s.note(`crypto set-up ${c.account.address} device ${c.deviceId}: login ${c.setup.loginMs} ms, initRustCrypto ${c.setup.initCryptoMs} ms, first sync (device keys uploaded) ${c.setup.firstSyncMs} ms`);
  }
}

/** alice (org-a) opens an encrypted DM with bob (org-b), who accepts. */
export async function encryptedDm(s: Session, alice: EncryptedMatrixClient, bob: EncryptedMatrixClient): Promise<string> {
  const room = await alice.createEncryptedRoom([bob.userId], { direct: true });
  await bob.acceptInvite(room);
  await alice.untilJoined(room, [bob.userId]);
  s.note(`encrypted DM ${room} between ${alice.account.address} and ${bob.account.address}`);
  return room;
}
