/**
 * An OMEMO-capable XMPP client (XEP-0384, the widely deployed version 0.3 wire format, namespace
 * eu.siacs.conversations.axolotl, as Conversations, Dino, Gajim and Monal interoperate), for the e2ee suite only.
 * It is a separate module from xmpp.ts so that no other scenario loads the Signal protocol library or pays the key
 * set-up: only scenarios that call connectOmemo() do. Keys and sessions are in memory (OmemoStore).
 *
 * It rides on an ordinary XMPP ChatClient (the same login, rooms, presence subscriptions) and adds, on the same
 * stream: the device list and bundle published through PEP (XEP-0163) with publish-options access_model=open, the
 * fetch of a peer's device list and bundle (which crosses federation for a remote peer), and messages whose body
 * is encrypted with AES-128-GCM, the key and tag encrypted per recipient device with a Signal session.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DeviceType, KeyPairType, StorageType } from '@privacyresearch/libsignal-protocol-typescript';
import { jid as parseJid, xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { ConformanceFailure } from '../verdict/failure.ts';
import { defaultWaitMs, type Account, type ChatClient, type Conversation } from './driver.ts';
import { NS_DATA, NS_DISCO_INFO, NS_HINTS, NS_MUC_USER, stanzaSession, xmppDriver } from './xmpp.ts';

/**
 * The library's Curve25519 (an emscripten build) installs process-wide 'uncaughtException' and 'unhandledRejection'
 * handlers when loaded, and the latter aborts the process: one stray rejection anywhere in the test worker would kill
 * the whole run. Those handlers are removed again right after loading, leaving the test runner's own in charge.
 */
const hooked = (): Array<(...args: never[]) => void> => [...process.listeners('uncaughtException'), ...process.listeners('unhandledRejection')];
const unhooked = new Set(hooked());
const signal = await import('@privacyresearch/libsignal-protocol-typescript');
for (const listener of process.listeners('uncaughtException')) if (!unhooked.has(listener)) process.removeListener('uncaughtException', listener);
for (const listener of process.listeners('unhandledRejection')) if (!unhooked.has(listener)) process.removeListener('unhandledRejection', listener);
const { KeyHelper, SessionBuilder, SessionCipher, SignalProtocolAddress } = signal;

export const NS_OMEMO = 'eu.siacs.conversations.axolotl';
export const NODE_DEVICELIST = `${NS_OMEMO}.devicelist`;
export const bundleNode = (deviceId: number): string => `${NS_OMEMO}.bundles:${deviceId}`;
const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_PUBSUB_EVENT = 'http://jabber.org/protocol/pubsub#event';
const NS_EME = 'urn:xmpp:eme:0';
const NS_CAPS = 'http://jabber.org/protocol/caps';
const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
/** How many one-time pre-keys a bundle offers (XEP-0384 0.3 asks for at least 20; the lab needs only a few). */
const preKeyCount = 20;
/** XEP-0384 0.3 §4.5: the body a client without OMEMO shows instead. */
export const fallbackBody = 'I sent you an OMEMO encrypted message but your client doesn\'t seem to support that.';

/** The Signal protocol store, in memory: one device's identity, pre-keys, sessions and the identities it has seen. */
class OmemoStore implements StorageType {
  private readonly data = new Map<string, unknown>();
  constructor(private readonly identity: KeyPairType, private readonly registrationId: number) {}
  async getIdentityKeyPair() { return this.identity; }
  async getLocalRegistrationId() { return this.registrationId; }
  // Trust on first use, as OMEMO clients do by default (blind trust before verification); E2E-VERIFY compares fingerprints.
  async isTrustedIdentity() { return true; }
  async saveIdentity(address: string, key: ArrayBuffer) {
    const name = `identity:${address}`; // SignalProtocolAddress.toString(): "<jid>.<deviceId>"
    const known = this.data.get(name) as ArrayBuffer | undefined;
    this.data.set(name, key);
    return known !== undefined && !Buffer.from(known).equals(Buffer.from(key));
  }
  identityOf(jid: string, deviceId: number): ArrayBuffer | undefined { return this.data.get(`identity:${new SignalProtocolAddress(jid, deviceId).toString()}`) as ArrayBuffer | undefined; }
  async loadPreKey(id: string | number) { return this.data.get(`prekey:${id}`) as KeyPairType | undefined; }
  async storePreKey(id: string | number, pair: KeyPairType) { this.data.set(`prekey:${id}`, pair); }
  // One-time pre-keys are kept after use: this client does not replenish its published bundle, and two peers picking
  // the same pre-key from it (1 in 20) would otherwise fail to start a session (Bad MAC). A harness choice, not the servers'.
  async removePreKey() {}
  async loadSignedPreKey(id: string | number) { return this.data.get(`signed:${id}`) as KeyPairType | undefined; }
  async storeSignedPreKey(id: string | number, pair: KeyPairType) { this.data.set(`signed:${id}`, pair); }
  async removeSignedPreKey(id: string | number) { this.data.delete(`signed:${id}`); }
  async loadSession(address: string) { return this.data.get(`session:${address}`) as string | undefined; }
  async storeSession(address: string, record: string) { this.data.set(`session:${address}`, record); }
  hasSession(jid: string, deviceId: number): boolean { return this.data.has(`session:${new SignalProtocolAddress(jid, deviceId).toString()}`); }
}

/** An OMEMO message as a receiving client saw it: what travelled, and what it decrypted to (or why not). */
export interface OmemoMessage {
  /** Bare JID of the conversation (the peer, or the room). */
  conversation: string;
  /** Bare real JID of the sender. */
  sender: string;
  senderDevice: number;
  /** The stanza's id attribute (send() returns it). */
  id: string;
  /** The base64 payload (the AES-GCM ciphertext) as it travelled. */
  payload?: string;
  /** The stanza exactly as it arrived, relayed by the servers. */
  wire: string;
  /** Whether a key element was addressed to this device. */
  forThisDevice: boolean;
  body?: string;
  failure?: string;
}

/** Measured cost of making one client OMEMO-capable. */
export interface OmemoSetupCost {
  loginMs: number;
  keysMs: number;
  publishMs: number;
}

/** Why a pubsub request was refused, from the StanzaError @xmpp/client throws. */
function condition(error: unknown): string {
  if (error instanceof Error && error.name === 'StanzaError') {
    const e = error as Error & { condition?: string; text?: string };
    return `${e.condition ?? error.message}${e.text ? ` (${e.text})` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

const b64 = (data: ArrayBuffer | Uint8Array): string => Buffer.from(data instanceof Uint8Array ? data : new Uint8Array(data)).toString('base64');
const buffer = (text: string): ArrayBuffer => { const b = Buffer.from(text, 'base64'); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); };
const bare = (address: string): string => parseJid(address).bare().toString();

/** The identity key's fingerprint as OMEMO clients show it for out-of-band comparison: hex of the 32-byte Curve25519 key. */
export function fingerprintOf(identityKey: ArrayBuffer): string {
  const key = Buffer.from(identityKey).subarray(-32);
  return key.toString('hex').match(/.{8}/g)!.join(' ');
}

export class OmemoXmppClient {
  private readonly lines: string[] = [];
  private readonly messages: OmemoMessage[] = [];
  private readonly listeners = new Set<() => void>();
  /** Device lists of peers as the last PEP notification or fetch gave them. */
  private readonly deviceLists = new Map<string, number[]>();
  /** Real JIDs of room occupants by occupant JID (room@service/nick), from the rooms' presence. */
  private readonly occupants = new Map<string, string>();
  /** The PEP device-list notifications this client got: sender and devices. */
  readonly notifications: Array<{ from: string; devices: number[]; at: number }> = [];
  readonly deviceId: number;

  private constructor(readonly chat: ChatClient, private readonly store: OmemoStore, private readonly identity: KeyPairType, deviceId: number, readonly setup: OmemoSetupCost) {
    this.deviceId = deviceId;
  }

  get account(): Account { return this.chat.account; }
  get address(): string { return this.chat.account.address; }
  private get xmpp(): Client { return stanzaSession(this.chat); }
  /** This device's identity key fingerprint (what the user compares out of band, XEP-0384 0.3 §5 trust). */
  get fingerprint(): string { return fingerprintOf(this.identity.pubKey); }

  /** Logs in a new session (a new device), makes its keys and publishes its device list entry and bundle. */
  static async connect(account: Account): Promise<OmemoXmppClient> {
    const t0 = performance.now();
    const chat = await xmppDriver.connect(account);
    const t1 = performance.now();
    const identity = await KeyHelper.generateIdentityKeyPair();
    // XEP-0384 0.3: the device id is a random integer between 1 and 2^31 - 1.
    const deviceId = 1 + randomBytes(4).readUInt32BE() % 0x7ffffffe;
    const store = new OmemoStore(identity, KeyHelper.generateRegistrationId());
    const signed = await KeyHelper.generateSignedPreKey(identity, 1);
    await store.storeSignedPreKey(1, signed.keyPair);
    const preKeys = [];
    for (let id = 1; id <= preKeyCount; id++) {
      const preKey = await KeyHelper.generatePreKey(id);
      await store.storePreKey(id, preKey.keyPair);
      preKeys.push(preKey);
    }
    const t2 = performance.now();
    const client = new OmemoXmppClient(chat, store, identity, deviceId, { loginMs: Math.round(t1 - t0), keysMs: Math.round(t2 - t1), publishMs: 0 });
    client.listen();
    await client.advertiseNotify();
    await client.publishDevice();
    await client.publishBundle(signed, preKeys);
    client.setup.publishMs = Math.round(performance.now() - t2);
    client.note(`device ${deviceId} (identity ${client.fingerprint}): login ${client.setup.loginMs} ms, keys ${client.setup.keysMs} ms (identity, signed pre-key, ${preKeyCount} pre-keys), publish ${client.setup.publishMs} ms`);
    return client;
  }

  private note(text: string): void {
    this.lines.push(`${new Date().toISOString()} OMEMO ${text}`);
  }

  transcript(): string[] {
    return [...this.lines, ...this.chat.transcript()];
  }

  async close(): Promise<void> {
    await this.chat.close();
  }

  // --- PEP: publish and fetch ---------------------------------------------------------------

  private static openAccess(): Element {
    return xml('publish-options', {}, xml('x', { xmlns: NS_DATA, type: 'submit' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, `${NS_PUBSUB}#publish-options`)),
      xml('field', { var: 'pubsub#access_model' }, xml('value', {}, 'open'))));
  }

  private async publish(node: string, payload: Element, what: string, accessModel: 'open' | 'presence' = 'open'): Promise<void> {
    const options = accessModel === 'open' ? OmemoXmppClient.openAccess() : xml('publish-options', {}, xml('x', { xmlns: NS_DATA, type: 'submit' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, `${NS_PUBSUB}#publish-options`)),
      xml('field', { var: 'pubsub#access_model' }, xml('value', {}, accessModel))));
    try {
      await this.xmpp.iqCaller.request(xml('iq', { type: 'set' }, xml('pubsub', { xmlns: NS_PUBSUB },
        xml('publish', { node }, xml('item', { id: 'current' }, payload)), options)), defaultWaitMs);
    } catch (error) {
      throw new ConformanceFailure(`${this.account.org.domain} refused ${this.address}'s PEP publish of ${what} (node ${node}, access_model ${accessModel}): ${condition(error)}`, this.transcript().join('\n'));
    }
  }

  /** XEP-0384 0.3 §4.2: add this device to the account's device list (keeping the other devices already listed). */
  private async publishDevice(): Promise<void> {
    const own = await this.fetchDeviceList(this.address).catch(() => [] as number[]);
    const devices = [...new Set([...own, this.deviceId])];
    await this.publish(NODE_DEVICELIST, xml('list', { xmlns: NS_OMEMO }, ...devices.map((id) => xml('device', { id: String(id) }))), 'its OMEMO device list');
  }

  private async publishBundle(signed: Awaited<ReturnType<typeof KeyHelper.generateSignedPreKey>>, preKeys: Array<Awaited<ReturnType<typeof KeyHelper.generatePreKey>>>): Promise<void> {
    await this.publish(bundleNode(this.deviceId), xml('bundle', { xmlns: NS_OMEMO },
      xml('signedPreKeyPublic', { signedPreKeyId: String(signed.keyId) }, b64(signed.keyPair.pubKey)),
      xml('signedPreKeySignature', {}, b64(signed.signature)),
      xml('identityKey', {}, b64(this.identity.pubKey)),
      xml('prekeys', {}, ...preKeys.map((p) => xml('preKeyPublic', { preKeyId: String(p.keyId) }, b64(p.keyPair.pubKey))))), `the bundle of device ${this.deviceId}`);
  }

  /** Publishes an extra item with the given access model (for the access-model probe); refusal is the answer. */
  async publishProbe(node: string, accessModel: 'open' | 'presence'): Promise<void> {
    await this.publish(node, xml('probe', { xmlns: 'urn:fedconf:probe' }, accessModel), `a probe item`, accessModel);
  }

  /** The PEP items of `node` on `owner`'s account (for a remote owner the request crosses federation). */
  private async items(owner: string, node: string): Promise<Element[]> {
    const reply = await this.xmpp.iqCaller.request(xml('iq', { type: 'get', to: bare(owner) }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node }))), defaultWaitMs);
    return reply.getChild('pubsub', NS_PUBSUB)?.getChild('items')?.getChildren('item') ?? [];
  }

  private async fetchDeviceList(owner: string): Promise<number[]> {
    const list = (await this.items(owner, NODE_DEVICELIST))[0]?.getChild('list', NS_OMEMO);
    return (list?.getChildren('device') ?? []).map((d) => Number(d.attrs.id)).filter((id) => Number.isInteger(id) && id > 0);
  }

  /** `owner`'s OMEMO devices, fetched from their server; a refusal or an empty list is a ConformanceFailure naming it. */
  async deviceList(owner: string): Promise<number[]> {
    let devices: number[];
    try {
      devices = await this.fetchDeviceList(owner);
    } catch (error) {
      throw new ConformanceFailure(`${this.address} could not fetch ${bare(owner)}'s OMEMO device list (PEP node ${NODE_DEVICELIST}) from ${parseJid(owner).domain}: ${condition(error)}`, this.transcript().join('\n'));
    }
    if (devices.length === 0) throw new ConformanceFailure(`${parseJid(owner).domain} served ${this.address} no OMEMO device for ${bare(owner)} (PEP node ${NODE_DEVICELIST} empty or absent)`, this.transcript().join('\n'));
    this.deviceLists.set(bare(owner), devices);
    this.note(`device list of ${bare(owner)}: ${devices.join(', ')}`);
    return devices;
  }

  /** Whether `owner`'s PEP node can be read by this client: the access-model probe. */
  async canRead(owner: string, node: string): Promise<{ readable: boolean; answer: string }> {
    try {
      const items = await this.items(owner, node);
      return { readable: items.length > 0, answer: `${items.length} item(s)` };
    } catch (error) {
      return { readable: false, answer: condition(error) };
    }
  }

  /** `owner`'s bundle for `deviceId`, as the Signal library takes it (one pre-key picked at random, as 0.3 says). */
  private async bundle(owner: string, deviceId: number): Promise<DeviceType> {
    let bundle: Element | undefined;
    try {
      bundle = (await this.items(owner, bundleNode(deviceId)))[0]?.getChild('bundle', NS_OMEMO);
    } catch (error) {
      throw new ConformanceFailure(`${this.address} could not fetch ${bare(owner)}'s OMEMO bundle (PEP node ${bundleNode(deviceId)}) from ${parseJid(owner).domain}: ${condition(error)}`, this.transcript().join('\n'));
    }
    const signed = bundle?.getChild('signedPreKeyPublic');
    const preKeys = bundle?.getChild('prekeys')?.getChildren('preKeyPublic') ?? [];
    const identityKey = bundle?.getChildText('identityKey');
    const signature = bundle?.getChildText('signedPreKeySignature');
    if (!bundle || !signed || !identityKey || !signature || preKeys.length === 0) {
      throw new ConformanceFailure(`${parseJid(owner).domain} served ${this.address} no usable OMEMO bundle for ${bare(owner)} device ${deviceId}`, this.transcript().join('\n'));
    }
    const preKey = preKeys[Math.floor(Math.random() * preKeys.length)]!;
    return {
      identityKey: buffer(identityKey),
      signedPreKey: { keyId: Number(signed.attrs.signedPreKeyId), publicKey: buffer(signed.text()), signature: buffer(signature) },
      preKey: { keyId: Number(preKey.attrs.preKeyId), publicKey: buffer(preKey.text()) },
    };
  }

  /** The identity-key fingerprint of `owner`'s device as this client holds it (after a session), for E2E-VERIFY. */
  peerFingerprint(owner: string, deviceId: number): string | undefined {
    const key = this.store.identityOf(bare(owner), deviceId);
    return key ? fingerprintOf(key) : undefined;
  }

  // --- PEP notifications (XEP-0163 §4: +notify through entity capabilities) -------------------

  /**
   * XEP-0115 caps with the devicelist+notify feature, answered on disco#info: servers then push device-list changes
   * of the account's contacts (XEP-0163 §4.3 filtered notifications) — how a peer's new device is discovered.
   */
  private async advertiseNotify(): Promise<void> {
    const identity = { category: 'client', type: 'pc', name: 'fedconf' };
    const features = [NS_CAPS, NS_DISCO_INFO, NS_OMEMO, NODE_DEVICELIST, `${NODE_DEVICELIST}+notify`].sort();
    const ver = createHash('sha1').update(`${identity.category}/${identity.type}//${identity.name}<${features.join('<')}<`).digest('base64');
    const node = 'https://fedconf.invalid';
    this.xmpp.iqCallee.get(NS_DISCO_INFO, 'query', () => xml('query', { xmlns: NS_DISCO_INFO, node: `${node}#${ver}` },
      xml('identity', identity), ...features.map((f) => xml('feature', { var: f }))));
    await this.xmpp.send(xml('presence', {}, xml('c', { xmlns: NS_CAPS, hash: 'sha-1', node, ver })));
  }

  private listen(): void {
    this.xmpp.on('stanza', (stanza: Element) => {
      try {
        if (stanza.is('presence')) this.onPresence(stanza);
        else if (stanza.is('message')) void this.onMessage(stanza);
      } catch (error) {
        this.note(`could not interpret stanza: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  private onPresence(stanza: Element): void {
    const realJid = stanza.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.jid as string | undefined;
    if (realJid && stanza.attrs.from) {
      if (stanza.attrs.type === 'unavailable') this.occupants.delete(String(stanza.attrs.from));
      else this.occupants.set(String(stanza.attrs.from), bare(realJid));
    }
  }

  private async onMessage(stanza: Element): Promise<void> {
    const from = stanza.attrs.from as string | undefined;
    if (!from) return;
    const items = stanza.getChild('event', NS_PUBSUB_EVENT)?.getChild('items');
    if (items?.attrs.node === NODE_DEVICELIST) {
      const list = items.getChild('item')?.getChild('list', NS_OMEMO);
      const devices = (list?.getChildren('device') ?? []).map((d) => Number(d.attrs.id));
      this.deviceLists.set(bare(from), devices);
      this.notifications.push({ from: bare(from), devices, at: Date.now() });
      this.note(`PEP notification: ${bare(from)}'s device list is now ${devices.join(', ')}`);
      this.notify();
      return;
    }
    const encrypted = stanza.getChild('encrypted', NS_OMEMO);
    const header = encrypted?.getChild('header');
    if (!encrypted || !header || stanza.attrs.type === 'error') return;
    const groupchat = stanza.attrs.type === 'groupchat';
    const sender = groupchat ? this.occupants.get(from) ?? from : bare(from);
    const senderDevice = Number(header.attrs.sid);
    if (sender === this.address && senderDevice === this.deviceId) return; // the room's reflection of one's own message
    const message: OmemoMessage = {
      conversation: bare(from), sender, senderDevice, id: String(stanza.attrs.id ?? ''), wire: stanza.toString(),
      payload: encrypted.getChildText('payload') ?? undefined, forThisDevice: false,
    };
    const key = header.getChildren('key').find((k) => Number(k.attrs.rid) === this.deviceId);
    try {
      if (!key) throw new Error(`no key element for device ${this.deviceId} (keys for ${header.getChildren('key').map((k) => k.attrs.rid).join(', ')})`);
      message.forThisDevice = true;
      const cipher = new SessionCipher(this.store, new SignalProtocolAddress(sender, senderDevice));
      const prekey = key.attrs.prekey === 'true' || key.attrs.prekey === '1';
      const keyAndTag = Buffer.from(prekey ? await cipher.decryptPreKeyWhisperMessage(buffer(key.text())) : await cipher.decryptWhisperMessage(buffer(key.text())));
      if (message.payload === undefined) throw new Error('a key transport element (no payload)');
      const decipher = createDecipheriv('aes-128-gcm', keyAndTag.subarray(0, 16), Buffer.from(header.getChildText('iv') ?? '', 'base64'));
      decipher.setAuthTag(keyAndTag.subarray(16, 32));
      message.body = Buffer.concat([decipher.update(Buffer.from(message.payload, 'base64')), decipher.final()]).toString('utf8');
      this.note(`decrypted ${message.id} from ${sender} device ${senderDevice}${prekey ? ' (pre-key message: new session)' : ''}`);
    } catch (error) {
      message.failure = error instanceof Error ? error.message : String(error);
      this.note(`could not decrypt ${message.id} from ${sender} device ${senderDevice}: ${message.failure}`);
    }
    this.messages.push(message);
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves with what `find` returns once it is defined; rejects after `waitMs` with `failure()`'s text. */
  private until<T>(find: () => T | undefined, failure: () => string, waitMs = defaultWaitMs): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new ConformanceFailure(failure(), this.transcript().join('\n')));
      }, waitMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Waits for a PEP notification of `owner`'s device list that includes `deviceId`. */
  untilDeviceNotified(owner: string, deviceId: number, waitMs = defaultWaitMs): Promise<{ from: string; devices: number[]; at: number }> {
    return this.until(() => this.notifications.find((n) => n.from === bare(owner) && n.devices.includes(deviceId)),
      () => `${this.address} got no PEP notification of ${bare(owner)}'s device list with device ${deviceId} within ${waitMs} ms`
        + ` (notifications: ${JSON.stringify(this.notifications.map((n) => [n.from, n.devices]))})`, waitMs);
  }

  /** The message `id` as this device received it (decrypted or not); ConformanceFailure when it never arrives. */
  received(id: string, waitMs = defaultWaitMs): Promise<OmemoMessage> {
    return this.until(() => this.messages.find((m) => m.id === id), () => `${this.address} (device ${this.deviceId}) never received OMEMO message ${id} within ${waitMs} ms`, waitMs);
  }

  /** The message `id` arrives at this device and decrypts to `body`; otherwise a ConformanceFailure saying what happened. */
  async decrypts(id: string, body: string): Promise<OmemoMessage> {
    const message = await this.received(id);
    if (message.body !== body) {
      throw new ConformanceFailure(`${this.address} (device ${this.deviceId}) received ${id} from ${message.sender} but `
        + (message.body === undefined ? `could not decrypt it: ${message.failure ?? '?'}` : `it decrypted to ${JSON.stringify(message.body)}`), this.transcript().join('\n'));
    }
    return message;
  }

  // --- Rooms (XEP-0045) ----------------------------------------------------------------------

  /** XEP-0045 §9.3 "Granting Membership": the owner makes `address` a member of the (members-only) room. */
  async grantMembership(room: Conversation, address: string): Promise<void> {
    try {
      await this.xmpp.iqCaller.request(xml('iq', { type: 'set', to: room.id }, xml('query', { xmlns: NS_MUC_ADMIN },
        xml('item', { affiliation: 'member', jid: bare(address) }))), defaultWaitMs);
    } catch (error) {
      throw new ConformanceFailure(`${room.id} refused ${this.address}'s grant of membership to ${bare(address)}: ${condition(error)}`, this.transcript().join('\n'));
    }
  }

  /** XEP-0045 §7.14 "Exit a Room": unavailable presence to one's occupant JID. */
  async leaveRoom(room: Conversation): Promise<void> {
    const self = [...this.occupants].find(([occupant, real]) => real === this.address && occupant.startsWith(`${room.id}/`))?.[0];
    if (!self) throw new Error(`${this.address} is not an occupant of ${room.id}`);
    await this.xmpp.send(xml('presence', { to: self, type: 'unavailable' }));
    this.note(`left ${room.id} (${self})`);
  }

  // --- Sending ------------------------------------------------------------------------------

  /** The devices a message to `conversation` is encrypted for: every device of every recipient, and one's own others. */
  private async recipients(conversation: Conversation): Promise<Array<{ jid: string; devices: number[] }>> {
    const jids = conversation.kind === 'direct' ? [bare(conversation.id)] : (await this.chat.members(conversation)).map(bare).filter((j) => j !== this.address && j.includes('@') && !j.startsWith(`${conversation.id}/`));
    const result = [];
    for (const jid of jids) result.push({ jid, devices: this.deviceLists.get(jid) ?? await this.deviceList(jid) });
    const own = (this.deviceLists.get(this.address) ?? await this.fetchDeviceList(this.address).catch(() => [])).filter((d) => d !== this.deviceId);
    if (own.length > 0) result.push({ jid: this.address, devices: own });
    return result;
  }

  /**
   * Encrypts `body` for every recipient device (building a Signal session from its bundle the first time) and sends
   * it; resolves with the stanza id and what travelled. The lab's client fault 'e2ee-plaintext' (the E2E-BLIND
   * negative control) also puts the plaintext in the body, as a client that forgets to replace it would.
   */
  async send(conversation: Conversation, body: string): Promise<{ id: string; payload: string; devices: string[] }> {
    const keyAndIv = randomBytes(28);
    const key = keyAndIv.subarray(0, 16);
    const iv = keyAndIv.subarray(16);
    const cipher = createCipheriv('aes-128-gcm', key, iv);
    const payload = Buffer.concat([cipher.update(body, 'utf8'), cipher.final()]);
    const keyAndTag = Buffer.concat([key, cipher.getAuthTag()]);
    const keys: Element[] = [];
    const devices: string[] = [];
    for (const { jid, devices: ids } of await this.recipients(conversation)) {
      for (const deviceId of ids) {
        const address = new SignalProtocolAddress(jid, deviceId);
        if (!this.store.hasSession(jid, deviceId)) await new SessionBuilder(this.store, address).processPreKey(await this.bundle(jid, deviceId));
        const sealed = await new SessionCipher(this.store, address).encrypt(keyAndTag.buffer.slice(keyAndTag.byteOffset, keyAndTag.byteOffset + keyAndTag.byteLength));
        keys.push(xml('key', { rid: String(deviceId), ...(sealed.type === 3 ? { prekey: 'true' } : {}) }, Buffer.from(sealed.body ?? '', 'binary').toString('base64')));
        devices.push(`${jid}/${deviceId}`);
      }
    }
    const id = `fedconf-${randomUUID()}`;
    const leak = this.account.org.clientFault === 'e2ee-plaintext';
    await this.xmpp.send(xml('message', { to: conversation.id, type: conversation.kind === 'room' ? 'groupchat' : 'chat', id },
      xml('encrypted', { xmlns: NS_OMEMO }, xml('header', { sid: String(this.deviceId) }, ...keys, xml('iv', {}, iv.toString('base64'))), xml('payload', {}, payload.toString('base64'))),
      xml('encryption', { xmlns: NS_EME, namespace: NS_OMEMO, name: 'OMEMO' }),
      xml('body', {}, leak ? body : fallbackBody),
      xml('store', { xmlns: NS_HINTS })));
    this.note(`sent ${id} to ${conversation.id}, encrypted for ${devices.join(', ')}${leak ? ' — CLIENT FAULT: the plaintext also in <body>' : ''}`);
    return { id, payload: payload.toString('base64'), devices };
  }
}

export async function connectOmemo(account: Account): Promise<OmemoXmppClient> {
  return OmemoXmppClient.connect(account);
}
