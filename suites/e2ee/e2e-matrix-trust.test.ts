import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';
import { encryptedDm, noteSetup, secret } from './matrix-shared.ts';

/**
 * Trust across organisations with real Olm/Megolm clients (matrix-js-sdk Rust crypto): server-side key backup,
 * cross-signing with SAS verification, and device discovery when the device owner's peer server was down. Each
 * client's crypto set-up cost is noted in the evidence, and so is the cost of each trust step.
 */

scenario('E2E-BACKUP: alice (org-a) backs up her room keys on her server; her new device restores them with her recovery key and decrypts the history with bob (org-b)', { requirements: ['E2E-BACKUP'], clause: { matrix: 'Matrix Client-Server API §End-to-End Encryption "Server-side key backups" (POST /room_keys/version, PUT and GET /room_keys/keys; m.megolm_backup.v1.curve25519-aes-sha2) and §Secret storage (m.secret_storage.v1.aes-hmac-sha2 in account data; the backup key as m.megolm_backup.v1)' } }, async (s) => {
  const alice = await s.encryptedUser('org-a', 'alice');
  const bob = await s.encryptedUser('org-b', 'bob');
  noteSetup(s, [alice, bob]);
  const backup = await alice.setUpRecovery();
  s.note(`${alice.account.address} set up recovery on ${alice.account.org.domain}: secret storage and key backup version ${backup.version} (${backup.ms} ms)`);
  const room = await encryptedDm(s, alice, bob);

  const fromAlice = secret('alice');
  const aliceEvent = await alice.send(room, fromAlice);
  await bob.decrypts(aliceEvent, fromAlice);
  const fromBob = secret('bob');
  const bobEvent = await bob.send(room, fromBob);
  await alice.decrypts(bobEvent, fromBob);
  // Two Megolm sessions: alice's outbound one and bob's, received over federation.
  const held = await alice.untilBackedUp(backup.version, 2);
  s.note(`${alice.account.org.domain} holds ${held} keys in backup ${backup.version}`);

  const aliceNew = await s.encryptedLogin(alice.account);
  noteSetup(s, [aliceNew]);
  const history = [[aliceEvent, fromAlice], [bobEvent, fromBob]] as const;
  // Positive control: without the backup the new device cannot read the history.
  for (const [eventId] of history) {
    const before = await aliceNew.tryDecrypt(await aliceNew.rawEvent(room, eventId));
    if (before.body !== undefined) throw new Error(`the new device ${aliceNew.deviceId} decrypted ${eventId} before restoring the backup: the scenario cannot tell what the backup gave`);
  }
  const restored = await aliceNew.recover(backup.recoveryKey);
  s.note(`new device ${aliceNew.deviceId}, given the recovery key, read the backup key from secret storage and restored backup ${restored.version}: ${restored.imported} of ${restored.total} keys imported (${restored.ms} ms)`);
  if (restored.imported < 2) throw new ConformanceFailure(`${alice.account.org.domain} returned ${restored.total} keys from backup ${backup.version} (${restored.imported} imported); 2 were backed up`);
  for (const [eventId, body] of history) {
    const after = await aliceNew.tryDecrypt(await aliceNew.rawEvent(room, eventId));
    if (after.body !== body) throw new ConformanceFailure(`the new device ${aliceNew.deviceId} cannot decrypt ${eventId} after restoring the backup: ${after.failure ?? JSON.stringify(after.body)}`);
    s.note(`new device ${aliceNew.deviceId} decrypted ${eventId} from the history`);
  }
});

scenario('E2E-VERIFY: alice (org-a) and bob (org-b) cross-sign, verify each other by SAS over federation, and each sees the other verified', { requirements: ['E2E-VERIFY'], clause: { matrix: 'Matrix Client-Server API §End-to-End Encryption "Key verification framework" (m.key.verification.request/ready/start/done as to-device messages, relayed between servers as m.direct_to_device EDUs), "Short Authentication String (SAS) verification" (m.sas.v1) and "Cross-signing" (POST /keys/device_signing/upload, /keys/signatures/upload; master keys in federated /user/keys/query)' } }, async (s) => {
  const alice = await s.encryptedUser('org-a', 'alice');
  const bob = await s.encryptedUser('org-b', 'bob');
  noteSetup(s, [alice, bob]);
  for (const c of [alice, bob]) {
    const { ms } = await c.bootstrapCrossSigning();
    s.note(`${c.account.address}: cross-signing keys created and uploaded to ${c.account.org.domain} (${ms} ms)`);
  }
  // A shared encrypted room: each tracks the other's devices and cross-signing keys (federated /user/keys/query).
  const room = await encryptedDm(s, alice, bob);
  const hello = secret('alice');
  await bob.decrypts(await alice.send(room, hello), hello);
  const before = await alice.sees(bob.userId, bob.deviceId);
  s.note(`before: ${alice.account.address} sees ${bob.userId} ${before.identity ? 'verified' : 'not verified'}`);
  if (before.identity) throw new Error(`${bob.userId} is verified before any verification: the scenario cannot tell what SAS gave`);

  const sas = await alice.verifyBySas(bob);
  s.note(`SAS (both devices showed the same): ${sas.decimal} ${sas.emoji}; verification took ${sas.ms} ms`);
  for (const [viewer, subject] of [[alice, bob], [bob, alice]] as const) {
    const deadline = Date.now() + 10_000;
    let seen = await viewer.sees(subject.userId, subject.deviceId);
    while (!(seen.identity && seen.device) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      seen = await viewer.sees(subject.userId, subject.deviceId);
    }
    s.note(`${viewer.account.address} sees ${subject.userId}: identity ${seen.identity ? 'verified' : 'NOT verified'}, device ${subject.deviceId} ${seen.device ? 'verified' : 'NOT verified'}`);
    if (!seen.identity || !seen.device) throw new ConformanceFailure(`after SAS, ${viewer.account.address} does not see ${subject.userId} (device ${subject.deviceId}) as verified`);
  }
});

scenario('E2E-DEVICES: bob (org-b) adds a device while alice\'s server (org-a) is down; once it is back, alice discovers the device and it decrypts her next message', { requirements: ['E2E-DEVICES'], clause: { matrix: 'Matrix Server-Server API §Device Management ("m.device_list_update" EDU, retried like every transaction until the receiving server acknowledges it; a server that missed updates resyncs with GET /user/devices/{userId}) and Client-Server API §End-to-End Encryption "Tracking the device list for a user"' } }, async (s) => {
  const alice = await s.encryptedUser('org-a', 'alice');
  const bob = await s.encryptedUser('org-b', 'bob');
  noteSetup(s, [alice, bob]);
  const room = await encryptedDm(s, alice, bob);
  const first = secret('alice, to one device');
  await bob.decrypts(await alice.send(room, first), first); // alice now tracks bob's first device

  const down = performance.now();
  await s.control('stop', 'org-a');
  const bobSecond = await s.encryptedLogin(bob.account);
  noteSetup(s, [bobSecond]);
  await s.control('start', 'org-a');
  s.note(`org-a was down ${Math.round(performance.now() - down)} ms, while ${bob.account.address} logged in device ${bobSecond.deviceId}`);

  // alice's client resumes syncing on its own; the update reaches org-a when org-b retries (or org-a resyncs).
  const back = performance.now();
  const deadline = Date.now() + 60_000;
  for (let attempt = 1; ; attempt++) {
    const body = secret(`alice, after org-a restarted (${attempt})`);
    const eventId = await alice.send(room, body).catch((error: Error) => { s.note(`send ${attempt} failed: ${error.message}`); return undefined; });
    const seen = eventId ? await bobSecond.received(eventId, 5_000).catch(() => undefined) : undefined;
    if (seen?.body === body) {
      s.note(`${bob.account.address}'s new device ${bobSecond.deviceId} decrypted ${eventId} (send ${attempt}, ${Math.round(performance.now() - back)} ms after org-a was back)`);
      return;
    }
    if (Date.now() > deadline) throw new ConformanceFailure(`${bob.account.address}'s device ${bobSecond.deviceId}, added while ${alice.account.org.domain} was down, never received a key from ${alice.account.address} within 60 s of the server's return (last ${eventId ?? 'send failed'}: ${seen?.failure ?? 'not received'})`);
    s.note(`new device could not decrypt send ${attempt} (${eventId ?? 'not sent'}: ${seen?.failure ?? 'not received'}); alice sends again`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
});
