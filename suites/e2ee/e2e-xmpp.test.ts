import { randomBytes } from 'node:crypto';
import type { Conversation } from '../../harness/drivers/driver.ts';
import type { OmemoXmppClient } from '../../harness/drivers/xmpp-omemo.ts';
import { searchStore } from '../../harness/probes/server-store.ts';
import { expectMember } from '../../harness/scenario/expect.ts';
import type { Session } from '../../harness/scenario/scenario.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/**
 * End-to-end encryption across two organisations with OMEMO (XEP-0384, version 0.3 — namespace
 * eu.siacs.conversations.axolotl, the wire format deployed clients interoperate on; urn:xmpp:omemo:2 has little
 * deployment and needs SCE, so 0.3 is what a federation between organisations meets in practice). The servers'
 * part is PEP (XEP-0163): storing each user's device list and key bundles and serving them to the other
 * organisation's users across federation, pushing device-list changes to contacts, and relaying (and storing)
 * only what the clients encrypted. Each client's set-up cost (login, key generation, publishing) is noted.
 * On Matrix labs these scenarios are NOT-RUN (Session.omemoUser); e2e-matrix.test.ts covers Matrix.
 */

const omemoClause = 'XEP-0384 OMEMO Encryption 0.3 (eu.siacs.conversations.axolotl) §4 "Use Cases": the device list '
  + '(node eu.siacs.conversations.axolotl.devicelist) and bundles (eu.siacs.conversations.axolotl.bundles:<deviceId>) '
  + 'published through PEP (XEP-0163) and fetched by the peer; the payload AES-128-GCM encrypted, its key and tag '
  + 'encrypted per recipient device with a Signal session; XEP-0060 §7.1.5 publish-options pubsub#access_model=open';

function noteSetup(s: Session, clients: OmemoXmppClient[]): void {
  for (const c of clients) {
    s.note(`OMEMO set-up ${c.address} device ${c.deviceId}: login ${c.setup.loginMs} ms, keys (identity, signed pre-key, 20 pre-keys) ${c.setup.keysMs} ms, PEP publish of device list and bundle ${c.setup.publishMs} ms`);
  }
}

/** A sentence unique to this run, so a search of what the servers hold cannot hit an older run's message. */
const secret = (who: string) => `${who} says the secret is ${randomBytes(6).toString('hex')}`;
const secretWord = (body: string) => body.split(' ').at(-1)!;
const direct = (peer: OmemoXmppClient): Conversation => ({ id: peer.address, kind: 'direct' });

/** alice (org-a) and bob (org-b), each with an OMEMO device, each having fetched the other's device list across federation. */
async function omemoPair(s: Session): Promise<{ alice: OmemoXmppClient; bob: OmemoXmppClient }> {
  const alice = await s.omemoUser('org-a', 'alice');
  const bob = await s.omemoUser('org-b', 'bob');
  noteSetup(s, [alice, bob]);
  s.note(`${alice.address} sees ${bob.address}'s devices ${(await alice.deviceList(bob.address)).join(', ')}`);
  s.note(`${bob.address} sees ${alice.address}'s devices ${(await bob.deviceList(alice.address)).join(', ')}`);
  return { alice, bob };
}

/** Which PEP access models bob's server honours towards alice, a remote non-contact: open is readable, presence is not. */
async function accessModels(s: Session, alice: OmemoXmppClient, bob: OmemoXmppClient): Promise<void> {
  for (const model of ['open', 'presence'] as const) {
    const node = `urn:fedconf:probe:${model}`;
    try {
      await bob.publishProbe(node, model);
    } catch (error) {
      s.note(`PEP access model ${model}: ${bob.account.org.domain} refused the publish (${(error as Error).message.split('\n')[0]})`);
      continue;
    }
    const read = await alice.canRead(bob.address, node);
    const honoured = model === 'open' ? read.readable : !read.readable;
    s.note(`PEP access model ${model} on ${bob.account.org.domain}: ${alice.address} (remote, no presence subscription) reads it: ${read.answer} — ${honoured ? 'honoured' : 'NOT honoured'}`);
  }
}

scenario('E2E-DM: alice (org-a) and bob (org-b) publish OMEMO keys, fetch each other\'s across federation, and each decrypts the other', { requirements: ['E2E-DM'], clause: { xmpp: omemoClause } }, async (s) => {
  const { alice, bob } = await omemoPair(s);
  const fromAlice = secret('alice');
  const sent = await alice.send(direct(bob), fromAlice);
  const atBob = await bob.decrypts(sent.id, fromAlice);
  s.note(`${bob.address} decrypted ${sent.id} (payload ${atBob.payload?.length ?? 0} base64 chars, encrypted for ${sent.devices.join(', ')})`);
  const fromBob = secret('bob');
  const reply = await bob.send(direct(alice), fromBob);
  await alice.decrypts(reply.id, fromBob);
  s.note(`${alice.address} decrypted ${reply.id}`);
  await accessModels(s, alice, bob);
  await accessModels(s, bob, alice);
});

scenario('E2E-BLIND: neither server relays or stores the plaintext of an OMEMO message, only its ciphertext', { requirements: ['E2E-BLIND'], clause: { xmpp: `${omemoClause}; XEP-0384 0.3 §4.5: the <body> carries only a fallback text; XEP-0160 offline storage and XEP-0313 archives keep what was relayed` } }, async (s) => {
  const { alice, bob } = await omemoPair(s);
  const leaks: string[] = [];

  // What the servers relay: the stanza as it reached bob through org-a and org-b.
  const online = secret('alice, online');
  const first = await alice.send(direct(bob), online);
  const relayed = await bob.decrypts(first.id, online);
  const relayedPlain = relayed.wire.includes(secretWord(online));
  s.note(`relayed stanza ${first.id} at ${bob.address}: payload present ${relayed.wire.includes(first.payload)}, plaintext present ${relayedPlain}`);
  if (relayedPlain) leaks.push(`the stanza org-a and org-b relayed to ${bob.address} carries the plaintext of ${first.id}`);

  // What a server keeps: bob goes offline, org-b stores alice's next message for him (XEP-0160).
  await bob.close();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const offline = secret('alice, offline');
  const second = await alice.send(direct(bob), offline);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  for (const [org, words] of [['org-a', [online, offline]], ['org-b', [online, offline]]] as const) {
    const storeDir = s.lab.organisations[org].storeDir;
    if (!storeDir) { s.note(`${org}: the lab gives no store directory to search`); continue; }
    const hits = searchStore(storeDir, [...words.map(secretWord), second.payload]);
    const plain = hits.filter((h) => h.needle !== second.payload);
    const cipher = hits.filter((h) => h.needle === second.payload);
    s.note(`${org} store (${storeDir}): ciphertext of ${second.id} in ${cipher.map((h) => h.file).join(', ') || 'no file'}; plaintext in ${plain.map((h) => `${h.file} (${h.needle})`).join(', ') || 'no file'}`);
    if (plain.length > 0) leaks.push(`${org} stores the plaintext (${plain.map((h) => h.file).join(', ')})`);
    else if (org === 'org-b' && cipher.length === 0) s.note('org-b: the offline message was not found on disk at all (not stored, or stored in a form the byte search cannot read)');
  }
  // The sender's own archive (XEP-0313), where the server keeps one: only the fallback body may be there.
  try {
    const [answer] = await alice.chat.readBack(direct(bob), [{ id: first.id, body: online }, { id: second.id, body: offline }]);
    s.note(`${alice.address}'s archive (${answer?.path}): messages readable as plaintext: ${answer?.readable.length ?? 0}`);
    if ((answer?.readable.length ?? 0) > 0) leaks.push(`${s.lab.organisations['org-a'].domain}'s archive serves the plaintext`);
  } catch (error) {
    s.note(`${alice.address}'s archive: no MAM archive offered (${(error as Error).message.split('\n')[0]})`);
  }
  if (leaks.length > 0) throw new ConformanceFailure(leaks.join('; '));
});

scenario('E2E-VERIFY: alice (org-a) and bob (org-b) compare their OMEMO identity-key fingerprints out of band', { requirements: ['E2E-VERIFY'], clause: { xmpp: `${omemoClause}; §5 "Security Considerations": trust is decided by comparing identity-key fingerprints out of band (no in-band verification protocol in 0.3)` } }, async (s) => {
  const { alice, bob } = await omemoPair(s);
  const hello = secret('alice');
  await bob.decrypts((await alice.send(direct(bob), hello)).id, hello);
  const reply = secret('bob');
  await alice.decrypts((await bob.send(direct(alice), reply)).id, reply);
  const mismatches: string[] = [];
  for (const [viewer, owner] of [[alice, bob], [bob, alice]] as const) {
    const seen = viewer.peerFingerprint(owner.address, owner.deviceId);
    s.note(`${viewer.address} shows ${owner.address} device ${owner.deviceId} as ${seen ?? '(no session)'}; ${owner.address}'s own device shows ${owner.fingerprint}`);
    if (seen !== owner.fingerprint) mismatches.push(`${viewer.address} sees ${owner.address}'s identity as ${seen ?? 'nothing'}, not ${owner.fingerprint}`);
  }
  s.note('What OMEMO 0.3 offers: a per-device identity-key fingerprint compared out of band (or scanned as an xmpp: URI QR code); no in-band '
    + 'verification (no SAS, no cross-signing; XEP-0450 Automatic Trust Management is separate). Partial by the catalogue.');
  if (mismatches.length > 0) throw new ConformanceFailure(`the identity keys that crossed federation are not the owners': ${mismatches.join('; ')}`);
});

scenario('E2E-DEVICES: bob (org-b) adds a second OMEMO device; alice (org-a) is notified through PEP and encrypts to it', { requirements: ['E2E-DEVICES'], clause: { xmpp: `${omemoClause}; XEP-0163 §4 (+notify through XEP-0115 entity capabilities: a contact's device-list change is pushed)` } }, async (s) => {
  const { alice, bob } = await omemoPair(s);
  // XEP-0163 §4.3: PEP notifications go to contacts with a presence subscription that announce +notify.
  await alice.chat.requestPresence(bob.address);
  await bob.chat.approvePresence(alice.address);
  await bob.chat.requestPresence(alice.address);
  await alice.chat.approvePresence(bob.address);
  const first = secret('alice, to one device');
  await bob.decrypts((await alice.send(direct(bob), first)).id, first);

  const bobSecond = await s.omemoLogin(bob.account);
  noteSetup(s, [bobSecond]);
  const notified = await alice.untilDeviceNotified(bob.address, bobSecond.deviceId);
  s.note(`${alice.address} was notified of ${bob.address}'s device list ${notified.devices.join(', ')} (PEP +notify across federation)`);
  const next = secret('alice, to both devices');
  const sent = await alice.send(direct(bob), next);
  await bobSecond.decrypts(sent.id, next);
  await bob.decrypts(sent.id, next);
  s.note(`${bob.address}'s new device ${bobSecond.deviceId} and first device ${bob.deviceId} decrypted ${sent.id}`);
});

/** A members-only, non-anonymous room of alice's with carol (org-a) and bob (org-b), every member joined and seen by all. */
async function omemoRoom(s: Session, name: string): Promise<{ alice: OmemoXmppClient; carol: OmemoXmppClient; bob: OmemoXmppClient; room: Conversation }> {
  const alice = await s.omemoUser('org-a', 'alice');
  const carol = await s.omemoUser('org-a', 'carol');
  const bob = await s.omemoUser('org-b', 'bob');
  noteSetup(s, [alice, carol, bob]);
  // XEP-0384 0.3 §4.6: OMEMO in a group needs a non-anonymous, members-only room (the members' real JIDs give their devices).
  const { conversation: room, ref } = await alice.chat.createRoom(`${name}-${randomBytes(3).toString('hex')}`, { guests: false });
  for (const member of [carol, bob]) await alice.grantMembership(room, member.address);
  for (const member of [carol, bob]) await member.chat.joinRoom(ref);
  for (const watcher of [alice, carol, bob]) for (const member of [alice, carol, bob]) if (watcher !== member) await expectMember(watcher.chat, room, member.chat);
  return { alice, carol, bob, room };
}

scenario('E2E-ROOM: an OMEMO room with alice and carol (org-a) and bob (org-b); every member decrypts every message', { requirements: ['E2E-ROOM'], clause: { xmpp: `${omemoClause}; §4.6 (group chat: a members-only, non-anonymous MUC, XEP-0045; each message encrypted for every occupant's devices)` } }, async (s) => {
  const { alice, carol, bob, room } = await omemoRoom(s, 'omemo-room');
  const members = [alice, carol, bob];
  for (const sender of members) {
    const body = secret(sender.account.localpart);
    const sent = await sender.send(room, body);
    for (const reader of members.filter((m) => m !== sender)) await reader.decrypts(sent.id, body);
    s.note(`${sender.address}'s ${sent.id} (encrypted for ${sent.devices.join(', ')}) decrypted by the two others`);
  }
});

scenario('E2E-LEAVER: after bob (org-b) leaves an OMEMO room, alice\'s next message is not encrypted for his device', { requirements: ['E2E-LEAVER'], clause: { xmpp: `${omemoClause}; §4.6: a message is encrypted for the devices of the room's current occupants only (every message has a fresh key, so no group key is to rotate)` } }, async (s) => {
  const { alice, carol, bob, room } = await omemoRoom(s, 'omemo-leaver');
  const before = secret('alice, before');
  const first = await alice.send(room, before);
  await bob.decrypts(first.id, before); // positive control: bob's device was a recipient
  await carol.decrypts(first.id, before);

  await bob.leaveRoom(room);
  const deadline = Date.now() + 10_000;
  while ((await alice.chat.members(room)).includes(bob.address)) {
    if (Date.now() > deadline) throw new ConformanceFailure(`${alice.address} still sees ${bob.address} in ${room.id} 10 s after he left`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const after = secret('alice, after');
  const second = await alice.send(room, after);
  const atCarol = await carol.decrypts(second.id, after); // positive control: the message itself is readable
  const bobKeyed = new RegExp(`rid=["']${bob.deviceId}["']`).test(atCarol.wire);
  s.note(`${second.id} as relayed to carol was encrypted for: ${second.devices.join(', ')}; ${bob.address}'s device ${bob.deviceId} among them: ${bobKeyed}`);
  if (bobKeyed) throw new ConformanceFailure(`${second.id}, sent after ${bob.address} left ${room.id}, still carries a key for his device ${bob.deviceId}`);
  const late = await bob.received(second.id, 3_000).catch(() => undefined);
  if (late?.body !== undefined) throw new ConformanceFailure(`${bob.address} decrypted ${second.id}, sent after he left: ${JSON.stringify(late.body)}`);
  s.note(`${bob.address} ${late ? `received ${second.id} but cannot decrypt it: ${late.failure ?? ''}` : `did not receive ${second.id}`}`);
});
