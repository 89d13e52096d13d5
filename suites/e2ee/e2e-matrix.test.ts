import { request } from 'undici';
import type { EncryptedMatrixClient } from '../../harness/drivers/matrix-crypto.ts';
import { clientApiAccess } from '../../harness/drivers/matrix.ts';
import { eventId as pduEventId, type MatrixPeer } from '../../harness/probes/matrix-peer.ts';
import { searchStore, storeFiles } from '../../harness/probes/server-store.ts';
import { operatorReadsRoomMessages } from '../../harness/provisioning/operator.ts';
import { matrixTargetOf, withMatrixPeer } from '../../harness/scenario/peer-probe.ts';
import type { Session } from '../../harness/scenario/scenario.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, NotTestable } from '../../harness/verdict/failure.ts';
import { encryptedDm, noteSetup, secret } from './matrix-shared.ts';

/**
 * End-to-end encryption across two organisations, with real Olm/Megolm clients (matrix-js-sdk Rust crypto).
 * Each client's crypto set-up cost (login, initRustCrypto, first sync with the device-key upload) is noted in
 * the evidence; only these scenarios pay it.
 */

const megolmClause = 'Matrix Client-Server API §End-to-End Encryption ("Messaging Algorithms": m.megolm.v1.aes-sha2; '
  + '"Tracking the device list for a user": /keys/query; "Claiming one-time keys": /keys/claim) and Server-Server API '
  + '§End-to-End Encryption (federated /user/keys/query and /user/keys/claim)';


/** alice (org-a) opens an encrypted DM with bob (org-b), who accepts; both crypto clients are set up. */
async function encryptedDmPair(s: Session): Promise<{ alice: EncryptedMatrixClient; bob: EncryptedMatrixClient; room: string }> {
  const alice = await s.encryptedUser('org-a', 'alice');
  const bob = await s.encryptedUser('org-b', 'bob');
  noteSetup(s, [alice, bob]);
  return { alice, bob, room: await encryptedDm(s, alice, bob) };
}

/** Every client in `readers` decrypts the message `eventId` to `body`. */
async function allDecrypt(s: Session, readers: EncryptedMatrixClient[], eventId: string, body: string): Promise<void> {
  for (const reader of readers) {
    const message = await reader.decrypts(eventId, body);
    s.note(`${reader.account.address} decrypted ${eventId} (${message.wireType}, ciphertext ${message.ciphertext?.length ?? 0} chars)`);
  }
}

/** POST /_matrix/client/v3/keys/<what> as `asker`, answering the parsed JSON. */
async function keysRequest(asker: EncryptedMatrixClient, what: 'query' | 'claim', body: unknown): Promise<Record<string, Record<string, Record<string, unknown>>>> {
  const { baseUrl, accessToken } = asker.access();
  const response = await request(`${baseUrl}/_matrix/client/v3/keys/${what}`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`POST /keys/${what} on ${baseUrl} answered ${response.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Record<string, Record<string, Record<string, unknown>>>;
}

/**
 * `asker`'s server fetches `owner`'s device keys and claims one of its one-time keys — from `owner`'s server over
 * federation — as the sending client's crypto must before it can share a room key. What was refused is the failure.
 */
async function fetchesKeysOf(s: Session, asker: EncryptedMatrixClient, owner: EncryptedMatrixClient): Promise<void> {
  const query = await keysRequest(asker, 'query', { device_keys: { [owner.userId]: [] } });
  const devices = Object.keys(query.device_keys?.[owner.userId] ?? {});
  const claim = await keysRequest(asker, 'claim', { one_time_keys: { [owner.userId]: { [owner.deviceId]: 'signed_curve25519' } } });
  const claimed = Object.keys((claim.one_time_keys?.[owner.userId]?.[owner.deviceId] ?? {}) as Record<string, unknown>);
  s.note(`${asker.account.address} via ${asker.account.org.domain}: /keys/query for ${owner.userId} lists devices [${devices.join(', ')}], failures ${JSON.stringify(query.failures ?? {})}; /keys/claim gave ${claimed.length ? claimed.join(', ') : 'no key'}, failures ${JSON.stringify(claim.failures ?? {})}`);
  const refused: string[] = [];
  if (!devices.includes(owner.deviceId)) refused.push(`/keys/query does not list device ${owner.deviceId} (failures ${JSON.stringify(query.failures ?? {})})`);
  if (claimed.length === 0) refused.push(`/keys/claim gave no one-time key (failures ${JSON.stringify(claim.failures ?? {})})`);
  if (refused.length > 0) {
    throw new ConformanceFailure(`${asker.account.org.domain} could not get ${owner.userId}'s device keys from ${owner.account.org.domain} for ${asker.account.address}: ${refused.join('; ')}`);
  }
}

scenario('E2E-DM: alice (org-a) and bob (org-b) in an encrypted DM each decrypt the other', { requirements: ['E2E-DM'], clause: { matrix: megolmClause } }, async (s) => {
  const { alice, bob, room } = await encryptedDmPair(s);
  // Each side's server must obtain the other's keys over federation (a refusal is named here, not left to a decryption timeout).
  await fetchesKeysOf(s, alice, bob);
  await fetchesKeysOf(s, bob, alice);
  if (!bob.isEncrypted(room)) throw new ConformanceFailure(`${bob.account.address}'s server shows ${room} without m.room.encryption`);

  const fromAlice = secret('alice');
  const aliceEvent = await alice.send(room, fromAlice);
  await allDecrypt(s, [bob], aliceEvent, fromAlice);
  const fromBob = secret('bob');
  const bobEvent = await bob.send(room, fromBob);
  await allDecrypt(s, [alice], bobEvent, fromBob);
});

scenario('E2E-ROOM: an encrypted room with alice and carol (org-a) and bob (org-b); every member decrypts every message', { requirements: ['E2E-ROOM'], clause: { matrix: megolmClause } }, async (s) => {
  const alice = await s.encryptedUser('org-a', 'alice');
  const carol = await s.encryptedUser('org-a', 'carol');
  const bob = await s.encryptedUser('org-b', 'bob');
  const members = [alice, carol, bob];
  noteSetup(s, members);
  const room = await alice.createEncryptedRoom([carol.userId, bob.userId], { name: 'e2ee room' });
  await carol.acceptInvite(room);
  await bob.acceptInvite(room);
  for (const m of members) await m.untilJoined(room, members.map((x) => x.userId));

  for (const sender of members) {
    const body = secret(sender.account.localpart);
    const eventId = await sender.send(room, body);
    await allDecrypt(s, members.filter((m) => m !== sender), eventId, body);
  }
});

/** The room's recent events exactly as `reader`'s server serves them (GET /rooms/{id}/messages), as raw JSON text. */
async function whatServerHolds(reader: EncryptedMatrixClient, room: string): Promise<string> {
  const { baseUrl, accessToken } = reader.access();
  const url = `${baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=b&limit=50`;
  const response = await request(url, { headers: { authorization: `Bearer ${accessToken}` } });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`GET /messages on ${baseUrl} answered ${response.statusCode}`);
  return text;
}

/** What one place a server keeps shows of the message: whether the plaintext and the ciphertext are in it. */
interface View { place: string; plaintext: boolean; ciphertext: boolean; detail: string }

/** Check a view: the plaintext in it is a finding; neither plaintext nor ciphertext means the probe read the wrong place. */
function judge(s: Session, holder: string, view: View, findings: string[]): void {
  s.note(`${holder} ${view.place}: ciphertext present ${view.ciphertext}, plaintext present ${view.plaintext}${view.detail ? ` (${view.detail})` : ''}`);
  if (view.plaintext) findings.push(`${holder}'s ${view.place}`);
  else if (!view.ciphertext) throw new Error(`${holder}'s ${view.place} shows neither the plaintext nor the ciphertext: the probe cannot decide`);
}

/**
 * The org's files on disk (databases with their WAL, media; logs too: a server that logs a plaintext holds it),
 * byte-searched for both needles; retried for up to 15 s until one shows, as the write may lag the delivery.
 */
async function storeView(storeDir: string, plaintext: string, ciphertext: string | undefined): Promise<View> {
  const needles = ciphertext ? [plaintext, ciphertext] : [plaintext];
  const deadline = Date.now() + 15_000;
  for (;;) {
    const hits = searchStore(storeDir, needles, { logs: true });
    const where = (needle: string) => [...new Set(hits.filter((h) => h.needle === needle).map((h) => h.file))];
    const view = {
      place: 'store on disk (databases incl. WAL, media, logs)',
      plaintext: where(plaintext).length > 0,
      ciphertext: ciphertext !== undefined && where(ciphertext).length > 0,
      detail: `plaintext in [${where(plaintext).join(', ')}], ciphertext in [${ciphertext ? where(ciphertext).join(', ') : ''}] of ${storeFiles(storeDir, { logs: true }).length} files`,
    };
    if (view.plaintext || view.ciphertext || Date.now() > deadline) return view;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** `reader` opens the room to anyone (join_rules public), so the probe peer can join it over federation without an invite. */
async function openRoom(reader: EncryptedMatrixClient, room: string): Promise<void> {
  const { baseUrl, accessToken } = reader.access();
  const url = `${baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.join_rules/`;
  const response = await request(url, { method: 'PUT', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ join_rule: 'public' }) });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`PUT m.room.join_rules on ${baseUrl} answered ${response.statusCode}: ${text.slice(0, 200)}`);
}

/** The PDU of `eventId` in the transactions org-a sent the probe peer, waited for up to 15 s. */
async function relayedPdu(peer: MatrixPeer, eventId: string, roomVersion: string): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const pdus = peer.transactions.flatMap((t) => (Array.isArray(t.pdus) ? t.pdus as Record<string, unknown>[] : []));
    const pdu = pdus.find((p) => pduEventId(p, roomVersion) === eventId);
    if (pdu || Date.now() > deadline) return pdu;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

scenario('E2E-BLIND: neither server holds or relays the plaintext of an encrypted DM (client API, admin API, store on disk, federation transaction), only its ciphertext', { requirements: ['E2E-BLIND'], clause: { matrix: `${megolmClause}; m.room.encrypted carries only algorithm, sender_key, device_id, session_id and ciphertext` } }, async (s) => {
  const { alice, bob, room } = await encryptedDmPair(s);
  const check = async (peer?: MatrixPeer): Promise<void> => {
    // What org-a relays: the probe peer (probe.test) joins the room over federation and keeps what org-a sends it.
    const relay = peer ? await openRoom(alice, room).then(() => peer.joinRoom(matrixTargetOf(s.lab), room, `@probe:${peer.domain}`)) : undefined;
    if (relay) {
      await alice.untilJoined(room, [relay.userId]);
      s.note(`${relay.userId} joined ${room} over federation (room version ${relay.roomVersion}; the room was made public for it)`);
    }
    const body = secret('alice');
    const eventId = await alice.send(room, body);
    const received = await bob.received(eventId);
    s.note(`${eventId} travelled as ${received.wireType}${received.ciphertext ? `, ciphertext ${received.ciphertext.length} chars` : ', with no ciphertext'}`);
    // Needles: the random word of the plaintext, and a 40-character piece of the Megolm ciphertext (base64, stored as is).
    const plaintextWord = body.split(' ').at(-1)!;
    const ciphertextPiece = received.ciphertext?.slice(0, 40);
    const has = (text: string, needle: string | undefined) => needle !== undefined && text.includes(needle);
    const findings: string[] = [];
    for (const [holder, reader] of [['org-a', alice], ['org-b', bob]] as const) {
      const org = reader.account.org;
      const served = await whatServerHolds(reader, room);
      judge(s, holder, { place: 'client API (GET /rooms/{id}/messages)', plaintext: has(served, plaintextWord), ciphertext: has(served, ciphertextPiece), detail: '' }, findings);
      const admin = await operatorReadsRoomMessages(org, room);
      if (admin?.status === 200 && admin.fields) {
        const text = JSON.stringify(admin.fields);
        judge(s, holder, { place: `admin API (${admin.command.split('?')[0]})`, plaintext: has(text, plaintextWord), ciphertext: has(text, ciphertextPiece), detail: '' }, findings);
      } else {
        s.note(`${holder}: no admin view of the room's messages (${admin ? `${admin.command} answered ${admin.status}` : `provisioning ${org.provisioning.method} gives no admin API`})`);
      }
      if (org.storeDir) judge(s, holder, await storeView(org.storeDir, plaintextWord, ciphertextPiece), findings);
      else s.note(`${holder}: the lab gives no store folder; what the server keeps on disk is not inspected`);
    }
    if (peer && relay) {
      const pdu = await relayedPdu(peer, eventId, relay.roomVersion);
      if (!pdu) throw new Error(`org-a sent the probe peer no PDU for ${eventId} within 15 s (transactions received: ${peer.transactions.length}): the probe cannot decide`);
      const text = JSON.stringify(pdu);
      judge(s, 'org-a', { place: `federation transaction to ${peer.domain} (PUT /send)`, plaintext: has(text, plaintextWord), ciphertext: has(text, ciphertextPiece), detail: `PDU type ${String(pdu.type)}, content keys [${Object.keys((pdu.content ?? {}) as object).join(', ')}]` }, findings);
    }
    if (findings.length > 0) {
      throw new ConformanceFailure(`the plaintext of ${eventId} is in ${findings.join(', ')} (it travelled as ${received.wireType}${received.ciphertext ? '' : ', with no ciphertext'})`);
    }
  };
  if (s.lab.peerProbe) await withMatrixPeer(s, check);
  else {
    s.note('the lab offers no probe peer: what org-a relays over federation is seen only through org-b');
    await check();
  }
});


/** GET a room's m.room.encryption state as the server holds it; undefined when the room has none (404). */
async function encryptionState(baseUrl: string, accessToken: string, room: string): Promise<unknown> {
  const response = await request(`${baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(room)}/state/m.room.encryption/`, { headers: { authorization: `Bearer ${accessToken}` } });
  const text = await response.body.text();
  if (response.statusCode === 404) return undefined;
  if (response.statusCode !== 200) throw new Error(`GET state m.room.encryption answered ${response.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as unknown;
}

scenario('E2E-DEFAULT: a new private room and a new DM are encrypted without the client asking', { requirements: ['E2E-DEFAULT'], clause: { matrix: 'Matrix Client-Server API §Creation ("POST /createRoom": the server applies the preset\'s state; Synapse encryption_enabled_by_default_for_room_type) and §End-to-End Encryption "m.room.encryption"' } }, async (s) => {
  // No crypto is needed to read the server's policy: an ordinary client creates the rooms, asking for no encryption.
  if (s.protocol !== 'matrix') throw new NotTestable('E2E-DEFAULT is a Matrix server policy (XMPP has no server-side encryption default)');
  const alice = await s.user('org-a', 'alice');
  const bob = await s.user('org-b', 'bob');
  const { baseUrl, accessToken } = clientApiAccess(alice);
  const unencrypted: string[] = [];
  for (const [kind, body] of [
    ['private room', { preset: 'private_chat', name: 'default policy' }],
    ['DM', { preset: 'trusted_private_chat', is_direct: true, invite: [bob.account.address] }],
  ] as const) {
    const response = await request(`${baseUrl}/_matrix/client/v3/createRoom`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = await response.body.json() as { room_id?: string; error?: string };
    if (response.statusCode !== 200 || !created.room_id) throw new Error(`createRoom (${kind}) answered ${response.statusCode}: ${created.error ?? ''}`);
    const state = await encryptionState(baseUrl, accessToken, created.room_id);
    s.note(`${kind} ${created.room_id} created with ${JSON.stringify(body)}: m.room.encryption ${state ? JSON.stringify(state) : 'absent'}`);
    if (!state) unencrypted.push(kind);
  }
  if (unencrypted.length > 0) throw new ConformanceFailure(`${s.lab.organisations['org-a'].domain} creates a new ${unencrypted.join(' and a new ')} unencrypted unless the client asks for encryption`);
});

scenario('E2E-LEAVER: after bob (org-b) leaves an encrypted room, what alice sends next is undecryptable for him', { requirements: ['E2E-LEAVER'], clause: { matrix: 'Matrix Client-Server API §End-to-End Encryption "m.megolm.v1.aes-sha2" (a sender must not share a session with devices no longer in the room: the outbound session is rotated when a member leaves)' } }, async (s) => {
  const alice = await s.encryptedUser('org-a', 'alice');
  const carol = await s.encryptedUser('org-a', 'carol');
  const bob = await s.encryptedUser('org-b', 'bob');
  noteSetup(s, [alice, carol, bob]);
  const room = await alice.createEncryptedRoom([carol.userId, bob.userId], { name: 'e2ee leaver' });
  await carol.acceptInvite(room);
  await bob.acceptInvite(room);
  await alice.untilJoined(room, [alice.userId, carol.userId, bob.userId]);

  const before = secret('alice, before');
  const beforeId = await alice.send(room, before);
  const seenBefore = await bob.decrypts(beforeId, before); // positive control: bob did hold the room's key
  await carol.decrypts(beforeId, before);

  await bob.leave(room);
  await alice.untilLeft(room, bob.userId);
  const after = secret('alice, after');
  const afterId = await alice.send(room, after);
  const seenAfter = await carol.decrypts(afterId, after); // positive control: the message itself is readable
  s.note(`Megolm session before bob left: ${seenBefore.sessionId ?? '?'}; after: ${seenAfter.sessionId ?? '?'} (${seenBefore.sessionId === seenAfter.sessionId ? 'NOT rotated' : 'rotated'})`);
  const attempt = await bob.tryDecrypt(await carol.rawEvent(room, afterId));
  if (attempt.body !== undefined) throw new ConformanceFailure(`${bob.account.address} decrypted ${afterId}, sent after he left: ${JSON.stringify(attempt.body)}`);
  s.note(`${bob.account.address} cannot decrypt ${afterId}: ${attempt.failure ?? ''}`);
});

scenario('E2E-DEVICES: bob (org-b) logs in a second device; alice (org-a) discovers it and the new device decrypts her next message', { requirements: ['E2E-DEVICES'], clause: { matrix: 'Matrix Server-Server API §Device Management ("m.device_list_update" EDU) and Client-Server API §End-to-End Encryption "Tracking the device list for a user" (device_lists.changed in /sync, then /keys/query)' } }, async (s) => {
  const { alice, bob, room } = await encryptedDmPair(s);
  const first = secret('alice, to one device');
  await bob.decrypts(await alice.send(room, first), first); // alice now tracks bob's first device

  const bobSecond = await s.encryptedLogin(bob.account);
  noteSetup(s, [bobSecond]);
  const next = secret('alice, to both devices');
  const nextId = await alice.send(room, next);
  await bob.decrypts(nextId, next);
  // The first send after the login may not know the device yet (the device-list EDU is in flight): bounded retry.
  const deadline = Date.now() + 20_000;
  let body = next;
  let eventId = nextId;
  for (;;) {
    const seen = await bobSecond.received(eventId).catch(() => undefined);
    if (seen?.body === body) { s.note(`${bob.account.address}'s new device ${bobSecond.deviceId} decrypted ${eventId}`); return; }
    if (Date.now() > deadline) throw new ConformanceFailure(`${bob.account.address}'s new device ${bobSecond.deviceId} never received a key from ${alice.account.address} (last ${eventId}: ${seen?.failure ?? 'not received'}): the device was not discovered across federation`);
    s.note(`new device could not decrypt ${eventId} yet (${seen?.failure ?? 'not received'}); alice sends again`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    body = secret('alice, again');
    eventId = await alice.send(room, body);
  }
});
