/**
 * A crypto-capable Matrix client (Olm/Megolm through matrix-js-sdk's Rust crypto, WASM), for the e2ee suite only.
 * It is a separate module from matrix.ts so that no other scenario loads the WASM or pays the key set-up: only
 * scenarios that call connectEncrypted() do. Crypto state is in memory (lab-notes: `useIndexedDB: false`,
 * otherwise the WASM panics and kills the process).
 */
import {
  ClientEvent,
  createClient,
  EventType,
  MatrixEvent,
  MatrixEventEvent,
  MatrixScheduler,
  Method,
  MsgType,
  RoomEvent,
  RoomMemberEvent,
  SyncState,
  type MatrixClient,
  type RoomMember,
} from 'matrix-js-sdk';
import {
  CryptoEvent,
  decodeRecoveryKey,
  VerificationPhase,
  VerificationRequestEvent,
  VerifierEvent,
  type CryptoApi,
  type ShowSasCallbacks,
  type VerificationRequest,
  type Verifier,
} from 'matrix-js-sdk/lib/crypto-api/index.js';
import { ConformanceFailure } from '../verdict/failure.ts';
import { defaultWaitMs, type Account } from './driver.ts';
import { quietLogger, unrefRequestTimeouts } from './matrix.ts';

const connectTimeoutMs = 30_000;
/** Client-Server API "End-to-end encryption": the Megolm algorithm named in m.room.encryption. */
export const megolmAlgorithm = 'm.megolm.v1.aes-sha2';

/** A message as an encrypting client saw it: the decrypted body (or why it could not be) and what travelled. */
export interface EncryptedMessage {
  room: string;
  sender: string;
  eventId: string;
  /** The wire event type (m.room.encrypted for an encrypted message). */
  wireType: string;
  /** The Megolm ciphertext as the wire content carried it (absent for a plaintext event). */
  ciphertext?: string;
  /** The Megolm session the message was encrypted in (rotated when a member leaves). */
  sessionId?: string;
  /** The decrypted body; undefined when decryption failed (see failure). */
  body?: string;
  failure?: string;
}

/** Measured cost of making one client crypto-capable (initRustCrypto + device key upload on first sync). */
export interface CryptoSetupCost {
  loginMs: number;
  initCryptoMs: number;
  firstSyncMs: number;
}

export class EncryptedMatrixClient {
  private readonly messages: EncryptedMessage[] = [];
  private readonly lines: string[] = [];
  private readonly listeners = new Set<() => void>();
  private closed = false;

  private constructor(readonly account: Account, private readonly client: MatrixClient, readonly setup: CryptoSetupCost) {}

  get userId(): string {
    return this.client.getSafeUserId();
  }

  get deviceId(): string {
    return this.client.getDeviceId() ?? '?';
  }

  /** Log in with a new device, set up Rust crypto in memory, and wait for the first sync (which uploads device keys). */
  static async connect(account: Account): Promise<EncryptedMatrixClient> {
    const baseUrl = account.org.clientUrl;
    const t0 = performance.now();
    const login = await createClient({ baseUrl, logger: quietLogger }).loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: account.localpart },
      password: account.password,
      initial_device_display_name: 'fedconf e2ee',
    });
    const t1 = performance.now();
    const client = createClient({
      baseUrl, userId: login.user_id, accessToken: login.access_token, deviceId: login.device_id,
      logger: quietLogger, scheduler: new MatrixScheduler(() => -1),
      cryptoCallbacks: {}, // one object the SDK's secret storage shares, filled in by setUpRecovery / recover
    });
    unrefRequestTimeouts(client);
    await client.initRustCrypto({ useIndexedDB: false });
    const t2 = performance.now();
    const chat = new EncryptedMatrixClient(account, client, { loginMs: 0, initCryptoMs: 0, firstSyncMs: 0 });
    chat.listen();
    await chat.untilPrepared();
    const t3 = performance.now();
    Object.assign(chat.setup, { loginMs: Math.round(t1 - t0), initCryptoMs: Math.round(t2 - t1), firstSyncMs: Math.round(t3 - t2) });
    chat.lines.push(`device ${login.device_id}: login ${chat.setup.loginMs} ms, initRustCrypto ${chat.setup.initCryptoMs} ms, first sync ${chat.setup.firstSyncMs} ms`);
    return chat;
  }

  private untilPrepared(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.account.address}: first sync not done within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      this.client.on(ClientEvent.Sync, (state: SyncState) => {
        if (state === SyncState.Prepared || state === SyncState.Syncing) {
          clearTimeout(timer);
          resolve();
        }
      });
      void this.client.startClient({ initialSyncLimit: 20 });
    });
  }

  private listen(): void {
    this.client.on(RoomEvent.Timeline, (event: MatrixEvent, _room, toStart: boolean | undefined) => {
      if (toStart) return;
      if (event.isEncrypted() && event.isBeingDecrypted()) return; // MatrixEventEvent.Decrypted follows
      this.onMessage(event);
    });
    this.client.on(MatrixEventEvent.Decrypted, (event: MatrixEvent) => this.onMessage(event));
    this.client.on(RoomMemberEvent.Membership, () => this.notify());
  }

  private onMessage(event: MatrixEvent): void {
    const wireType = event.getWireType();
    const eventId = event.getId();
    const sender = event.getSender();
    const room = event.getRoomId();
    if (!eventId || eventId.startsWith('~') || !sender || !room) return;
    if (wireType !== EventType.RoomMessageEncrypted && wireType !== EventType.RoomMessage) return;
    if (this.messages.some((m) => m.eventId === eventId && m.body !== undefined)) return;
    const wire = event.getWireContent();
    const clear = event.isEncrypted() ? event.getClearContent() : event.getContent();
    const failure = event.isDecryptionFailure() ? String(event.decryptionFailureReason ?? 'decryption failed') : undefined;
    const body = !failure && clear && typeof clear.body === 'string' ? clear.body : undefined;
    if (event.isEncrypted() && !failure && body === undefined) return; // not decrypted yet
    const message: EncryptedMessage = {
      room, sender, eventId, wireType,
      ...(typeof wire.ciphertext === 'string' ? { ciphertext: wire.ciphertext } : {}),
      ...(typeof wire.session_id === 'string' ? { sessionId: wire.session_id } : {}),
      ...(body !== undefined ? { body } : {}), ...(failure ? { failure } : {}),
    };
    const index = this.messages.findIndex((m) => m.eventId === eventId);
    if (index >= 0) this.messages[index] = message; else this.messages.push(message);
    if (sender !== this.userId) {
      this.lines.push(`RECV ${eventId} from ${sender} (${wireType}${message.ciphertext ? `, ciphertext ${message.ciphertext.slice(0, 24)}…` : ''}): ${body !== undefined ? JSON.stringify(body) : `UNDECRYPTABLE ${failure ?? ''}`}`);
    }
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Resolve when check() gives a value; on timeout throw ConformanceFailure with the description. */
  private until<T>(check: () => T | undefined, description: string, timeoutMs = defaultWaitMs): Promise<T> {
    return new Promise((resolve, reject) => {
      const listener = () => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        clearInterval(poll);
        this.listeners.delete(listener);
        resolve(value);
      };
      // Room state the SDK updates without an event this client listens to (own membership) is polled too.
      const poll = setInterval(listener, 250);
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.listeners.delete(listener);
        reject(new ConformanceFailure(`${this.account.address}: ${description} not seen within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(listener);
      listener();
    });
  }

  /**
   * Create a private room encrypted from its first event (m.room.encryption in initial_state) and invite
   * `invitees`; `direct` marks it a DM (is_direct).
   */
  async createEncryptedRoom(invitees: string[], options: { direct?: boolean; name?: string } = {}): Promise<string> {
    const { room_id: roomId } = await this.client.createRoom({
      ...(options.name ? { name: options.name } : {}),
      invite: invitees,
      is_direct: options.direct ?? false,
      preset: 'private_chat' as never,
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: megolmAlgorithm } }],
    });
    this.lines.push(`created encrypted room ${roomId} (${megolmAlgorithm}), invited ${invitees.join(', ')}`);
    return roomId;
  }

  /** Wait for the invite into `roomId` (federated invites take a moment) and join. */
  async acceptInvite(roomId: string): Promise<void> {
    await this.until(() => (this.client.getRoom(roomId)?.getMyMembership() === 'invite' ? true : undefined), `an invite into ${roomId}`);
    await this.client.joinRoom(roomId);
    await this.until(() => (this.client.getRoom(roomId)?.getMyMembership() === 'join' ? true : undefined), `own join of ${roomId}`);
    this.lines.push(`joined ${roomId}`);
  }

  /** Wait until this client's view of the room has `members` joined. */
  async untilJoined(roomId: string, members: string[]): Promise<void> {
    const joined = (): string[] => this.client.getRoom(roomId)?.getJoinedMembers().map((m: RoomMember) => m.userId) ?? [];
    await this.until(() => (members.every((m) => joined().includes(m)) ? true : undefined), `${members.join(', ')} joined in ${roomId}`, 30_000)
      .catch(async (error: Error) => {
        const server = await this.client.getJoinedRoomMembers(roomId).then((r) => Object.keys(r.joined).join(', '), (e: Error) => e.message);
        throw new ConformanceFailure(`${error.message} (joined as this client's sync shows: ${joined().join(', ') || 'none'}; as GET /joined_members shows: ${server})`);
      });
  }

  /** Wait until this client's view of the room no longer has `member` joined. */
  async untilLeft(roomId: string, member: string): Promise<void> {
    await this.until(() => (this.client.getRoom(roomId)?.getMember(member)?.membership === 'leave' ? true : undefined), `${member} left ${roomId}`, 30_000);
  }

  async leave(roomId: string): Promise<void> {
    await this.client.leave(roomId);
    this.lines.push(`left ${roomId}`);
  }

  /** The event as this user's server serves it (GET /rooms/{id}/event/{eventId}), raw. */
  async rawEvent(roomId: string, eventId: string): Promise<Record<string, unknown>> {
    return this.client.http.authedRequest<Record<string, unknown>>(Method.Get, `/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`);
  }

  /** Try to decrypt an event this client was not given (e.g. one sent after it left) with the keys it holds. */
  async tryDecrypt(raw: Record<string, unknown>): Promise<{ body?: string; failure?: string }> {
    const event = new MatrixEvent(raw);
    await this.client.decryptEventIfNeeded(event);
    const clear = event.getClearContent();
    const result = event.isDecryptionFailure() || !clear || typeof clear.body !== 'string'
      ? { failure: String(event.decryptionFailureReason ?? 'no clear content') }
      : { body: clear.body };
    this.lines.push(`tried to decrypt ${String(raw.event_id)} (not delivered to this client): ${result.body !== undefined ? `DECRYPTED ${JSON.stringify(result.body)}` : `undecryptable (${result.failure})`}`);
    return result;
  }

  /** Whether this client's room state says the room is encrypted. */
  isEncrypted(roomId: string): boolean {
    return this.client.getRoom(roomId)?.hasEncryptionStateEvent() ?? false;
  }

  /**
   * Send a text message; the SDK encrypts it (querying and claiming the members' device keys) when the room is
   * encrypted. Under the lab's client fault 'e2ee-plaintext' (the E2E-BLIND negative control) it is PUT as a plain
   * m.room.message instead, around the SDK's encryption.
   */
  async send(roomId: string, body: string): Promise<string> {
    const content = { msgtype: MsgType.Text, body };
    if (this.account.org.clientFault === 'e2ee-plaintext') {
      const txnId = `fedconf-plain-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const path = `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`;
      const { event_id: eventId } = await this.client.http.authedRequest<{ event_id: string }>(Method.Put, path, undefined, content);
      this.lines.push(`SENT ${eventId} IN PLAINTEXT (client fault e2ee-plaintext): ${JSON.stringify(body)}`);
      return eventId;
    }
    const { event_id: eventId } = await this.client.sendTextMessage(roomId, body);
    this.lines.push(`SENT ${eventId}: ${JSON.stringify(body)}`);
    return eventId;
  }

  /** Wait for the message `eventId` and its decryption (or decryption failure). */
  async received(eventId: string, timeoutMs = defaultWaitMs): Promise<EncryptedMessage> {
    return this.until(() => this.messages.find((m) => m.eventId === eventId), `message ${eventId}`, timeoutMs);
  }

  /** Wait for `eventId` decrypted; a decryption failure or no message is a ConformanceFailure. */
  async decrypts(eventId: string, expectedBody: string): Promise<EncryptedMessage> {
    const message = await this.until(() => this.messages.find((m) => m.eventId === eventId && (m.body !== undefined || m.failure)), `message ${eventId} decrypted`);
    if (message.body === undefined) {
      // A key may arrive after the message (to-device after timeline): give it one more bounded wait.
      const later = await this.until(() => this.messages.find((m) => m.eventId === eventId && m.body !== undefined), `the key for ${eventId} (it arrived undecryptable: ${message.failure})`)
        .catch(() => undefined);
      if (!later) throw new ConformanceFailure(`${this.account.address} could not decrypt ${eventId}: ${message.failure}`);
      return this.check(later, expectedBody);
    }
    return this.check(message, expectedBody);
  }

  private check(message: EncryptedMessage, expectedBody: string): EncryptedMessage {
    if (message.wireType !== EventType.RoomMessageEncrypted) {
      throw new ConformanceFailure(`${this.account.address}: ${message.eventId} travelled as ${message.wireType}, not m.room.encrypted`);
    }
    if (message.body !== expectedBody) throw new ConformanceFailure(`${this.account.address}: ${message.eventId} decrypted to ${JSON.stringify(message.body)}, expected ${JSON.stringify(expectedBody)}`);
    return message;
  }

  /** The client-server API access of this device, for raw reads of what the server holds. */
  access(): { baseUrl: string; accessToken: string } {
    return { baseUrl: this.client.baseUrl, accessToken: this.client.getAccessToken() ?? '' };
  }

  transcript(): string[] {
    return [...this.lines];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.stopClient(); // also stops the Rust crypto backend
  }

  // ── Trust: server-side key backup (E2E-BACKUP), cross-signing and SAS verification (E2E-VERIFY) ──

  private cryptoApi(): CryptoApi {
    const crypto = this.client.getCrypto();
    if (!crypto) throw new Error(`${this.account.address}: no crypto backend`);
    return crypto;
  }

  /** Wait until the server says backup `version` holds at least `count` keys (GET /room_keys/version/{version}). */
  async untilBackedUp(version: string, count: number, timeoutMs = 30_000): Promise<number> {
    const path = `/room_keys/version/${encodeURIComponent(version)}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await this.client.http.authedRequest<{ count?: number }>(Method.Get, path);
      const held = info.count ?? 0;
      if (held >= count) { this.lines.push(`server holds ${held} keys in backup ${version}`); return held; }
      if (Date.now() > deadline) throw new ConformanceFailure(`${this.account.address}: backup ${version} holds ${held} keys after ${timeoutMs} ms, expected ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Answer the SDK's secret-storage prompts with `key` (what the user would type as the recovery key). */
  private useSecretStorageKey(key: Uint8Array): void {
    this.client.cryptoCallbacks.getSecretStorageKey = async ({ keys }) => {
      const id = Object.keys(keys)[0];
      return id ? [id, key] : null;
    };
  }

  /**
   * Set up recovery as a user does: a random recovery key, secret storage (4S, Client-Server API "Secret storage":
   * the secrets encrypted in account data on this user's server) holding a new key backup's decryption key.
   * Returns the recovery key as the user would write it down (base58) and the backup version.
   */
  async setUpRecovery(): Promise<{ recoveryKey: string; version: string; ms: number }> {
    const t0 = performance.now();
    const generated = await this.cryptoApi().createRecoveryKeyFromPassphrase();
    if (!generated.encodedPrivateKey) throw new Error(`${this.account.address}: no encoded recovery key`);
    this.useSecretStorageKey(generated.privateKey);
    await this.cryptoApi().bootstrapSecretStorage({ createSecretStorageKey: async () => generated, setupNewSecretStorage: true, setupNewKeyBackup: true });
    // The new backup's engine is started without waiting; the check decides whether it is trusted and enabled.
    await this.cryptoApi().checkKeyBackupAndEnable();
    const version = await this.cryptoApi().getActiveSessionBackupVersion();
    if (!version) throw new Error(`${this.account.address}: bootstrapSecretStorage left no active key backup`);
    const ms = Math.round(performance.now() - t0);
    this.lines.push(`recovery set up: secret storage and key backup version ${version} (${ms} ms)`);
    return { recoveryKey: generated.encodedPrivateKey, version, ms };
  }

  /** On a new device: the user types the recovery key; the backup key comes out of secret storage, then the backup is restored. */
  async recover(recoveryKey: string): Promise<{ version: string; total: number; imported: number; ms: number }> {
    const t0 = performance.now();
    this.useSecretStorageKey(decodeRecoveryKey(recoveryKey));
    await this.cryptoApi().loadSessionBackupPrivateKeyFromSecretStorage();
    const version = (await this.cryptoApi().getKeyBackupInfo())?.version ?? '?';
    const { total, imported } = await this.cryptoApi().restoreKeyBackup();
    const ms = Math.round(performance.now() - t0);
    this.lines.push(`recovered with the recovery key: backup key from secret storage, backup ${version} restored, ${imported} of ${total} keys imported (${ms} ms)`);
    return { version, total, imported, ms };
  }

  /**
   * Create and upload this user's cross-signing keys (master, self-signing, user-signing; Client-Server API
   * "Cross-signing"). The upload may ask for user-interactive auth: answered with the account's password.
   */
  async bootstrapCrossSigning(): Promise<{ ms: number }> {
    const t0 = performance.now();
    const password = { type: 'm.login.password', identifier: { type: 'm.id.user', user: this.account.localpart }, password: this.account.password };
    await this.cryptoApi().bootstrapCrossSigning({
      authUploadDeviceSigningKeys: async (makeRequest) => {
        try {
          return await makeRequest(null);
        } catch (error) {
          const session = (error as { data?: { session?: string } }).data?.session;
          if ((error as { httpStatus?: number }).httpStatus !== 401) throw error;
          return makeRequest({ ...password, ...(session ? { session } : {}) });
        }
      },
    });
    if (!(await this.cryptoApi().isCrossSigningReady())) throw new Error(`${this.account.address}: cross-signing not ready after bootstrap`);
    const ms = Math.round(performance.now() - t0);
    this.lines.push(`cross-signing keys created and uploaded (${ms} ms)`);
    return { ms };
  }

  /**
   * Interactive SAS verification of `other`'s device, started by this device over to-device messages
   * (Client-Server API "Key verification framework", "Short Authentication String (SAS) verification"). Both
   * clients are in this process, so the two displayed SAS are compared here: equal → both confirm; different →
   * mismatch (ConformanceFailure, someone in the path changed a key).
   */
  async verifyBySas(other: EncryptedMatrixClient, timeoutMs = 60_000): Promise<{ decimal: string; emoji: string; ms: number }> {
    const t0 = performance.now();
    const bounded = <T>(promise: Promise<T>, what: string): Promise<T> => new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ConformanceFailure(`SAS verification ${this.account.address} → ${other.account.address}: ${what} not within ${timeoutMs} ms`)), timeoutMs);
      promise.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e instanceof Error ? e : new Error(String(e))); });
    });
    const phase = (request: VerificationRequest, wanted: VerificationPhase, what: string): Promise<void> => bounded(new Promise<void>((resolve, reject) => {
      const check = () => {
        if (request.phase === VerificationPhase.Cancelled) reject(new ConformanceFailure(`${what}: cancelled (${request.cancellationCode ?? '?'})`));
        else if (request.phase >= wanted) { request.off(VerificationRequestEvent.Change, check); resolve(); }
      };
      request.on(VerificationRequestEvent.Change, check);
      check();
    }), what);
    const sasOf = (verifier: Verifier): Promise<ShowSasCallbacks> => new Promise((resolve) => {
      const shown = verifier.getShowSasCallbacks();
      if (shown) resolve(shown); else verifier.once(VerifierEvent.ShowSas, resolve);
    });

    const incoming = new Promise<VerificationRequest>((resolve) => other.client.once(CryptoEvent.VerificationRequestReceived, resolve));
    const request = await this.cryptoApi().requestDeviceVerification(other.userId, other.deviceId);
    this.lines.push(`verification request to ${other.userId} device ${other.deviceId} sent (to-device)`);
    const theirs = await bounded(incoming, `the request reaching ${other.account.address}`);
    await theirs.accept();
    await phase(request, VerificationPhase.Ready, 'the request accepted');
    const verifier = await request.startVerification('m.sas.v1');
    await phase(theirs, VerificationPhase.Started, 'the SAS start reaching the other side');
    const theirVerifier = theirs.verifier;
    if (!theirVerifier) throw new Error(`${other.account.address}: no verifier after m.key.verification.start`);
    const mineShown = sasOf(verifier);
    const theirsShown = sasOf(theirVerifier);
    const done = Promise.all([verifier.verify(), theirVerifier.verify()]);
    done.catch(() => undefined); // awaited below; a rejection before then is not unhandled
    const [mine, their] = await bounded(Promise.all([mineShown, theirsShown]), 'the SAS shown on both devices');
    const show = (sas: ShowSasCallbacks) => ({ decimal: sas.sas.decimal?.join(' ') ?? '', emoji: sas.sas.emoji?.map(([e]) => e).join('') ?? '' });
    const a = show(mine);
    const b = show(their);
    this.lines.push(`SAS on ${this.account.address}: ${a.decimal} ${a.emoji}; on ${other.account.address}: ${b.decimal} ${b.emoji}`);
    if (a.decimal !== b.decimal || a.emoji !== b.emoji) {
      mine.mismatch();
      throw new ConformanceFailure(`the two devices show different SAS (${a.decimal} vs ${b.decimal}): the keys exchanged were not the same`);
    }
    await Promise.all([mine.confirm(), their.confirm()]);
    await bounded(done, 'both sides done (m.key.verification.mac, m.key.verification.done)');
    const ms = Math.round(performance.now() - t0);
    this.lines.push(`SAS verification with ${other.userId} done (${ms} ms)`);
    return { ...a, ms };
  }

  /** Whether this device sees `userId`'s identity as cross-signing verified (and the device `deviceId`, if given). */
  async sees(userId: string, deviceId?: string): Promise<{ identity: boolean; device?: boolean }> {
    const identity = (await this.cryptoApi().getUserVerificationStatus(userId)).isCrossSigningVerified();
    if (!deviceId) return { identity };
    const device = (await this.cryptoApi().getDeviceVerificationStatus(userId, deviceId))?.crossSigningVerified ?? false;
    return { identity, device };
  }
}

export function connectEncrypted(account: Account): Promise<EncryptedMatrixClient> {
  return EncryptedMatrixClient.connect(account);
}
