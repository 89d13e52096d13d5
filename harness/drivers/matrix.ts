/**
 * The Matrix driver: speaks the client-server API through matrix-js-sdk. Scenarios see only the protocol-neutral ChatClient.
 */
import {
  ClientEvent,
  createClient,
  Direction,
  MatrixError,
  MatrixScheduler,
  Method,
  MsgType,
  Preset,
  RoomEvent,
  RoomMemberEvent,
  SyncState,
  type MatrixClient,
  type MatrixEvent,
  type Room,
  type SyncStateData,
  type RoomMember,
} from 'matrix-js-sdk';
import { logger as sdkLogger, type Logger } from 'matrix-js-sdk/lib/logger.js';
import { ConformanceFailure } from '../verdict/failure.ts';
import type { OrganisationDescription } from '../lab/types.ts';
import {
  defaultWaitMs,
  GuestRefused,
  type RoomOptions,
  type DirectoryAnswer,
  type Account,
  type ChatClient,
  type ChatEvent,
  type Conversation,
  type FileEvent,
  type FileToShare,
  type Availability,
  type MessageEvent,
  type Profile,
  type ProtocolDriver,
  type SendOptions,
  type ReadPathAnswer,
  type SentMessage,
  type WaitOptions,
} from './driver.ts';

/** How long connect() waits for the first sync; a failure here is the harness's, not the product's. */
const connectTimeoutMs = 30_000;
const transcriptBodyChars = 200;
/** Message types whose content is a file behind a content URI (Client-Server API "m.room.message msgtypes"). */
const fileMsgtypes = ['m.file', 'm.image', 'm.video', 'm.audio'];

export const matrixDriver: ProtocolDriver = {
  protocol: 'matrix',

  async connect(account) {
    return MatrixChatClient.connect(account);
  },

  async connectGuest(org) {
    return MatrixChatClient.connectGuest(org);
  },
};

interface Waiter {
  check: () => void;
  cancel: (error: Error) => void;
}

class MatrixChatClient implements ChatClient {
  private readonly events: ChatEvent[] = [];
  private readonly seen = new Set<string>();
  private readonly lines: string[] = [];
  private readonly waiters = new Set<Waiter>();
  private closed = false;
  private presenceCount = 0;

  private constructor(readonly account: Account, private readonly client: MatrixClient) {}

  static async connect(account: Account): Promise<MatrixChatClient> {
    const baseUrl = account.org.clientUrl;
    const anonymous = createClient({ baseUrl, logger: quietLogger });
    const login = await anonymous.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: account.localpart },
      password: account.password,
      initial_device_display_name: 'fedconf',
    }).catch((error: unknown) => {
      throw new Error(`${account.address}: login on ${baseUrl} failed: ${errorText(error)}`);
    });
    return MatrixChatClient.start(account, login);
  }

  /**
   * Client-Server API "Guest access": POST /register?kind=guest gives a guest user and access token with no
   * credentials. A 4xx answer is the server refusing guests (GuestRefused).
   */
  static async connectGuest(org: OrganisationDescription): Promise<MatrixChatClient> {
    const anonymous = createClient({ baseUrl: org.clientUrl, logger: quietLogger });
    const registered = await anonymous.registerGuest({ body: { initial_device_display_name: 'fedconf guest' } }).catch((error: unknown) => {
      if (error instanceof MatrixError && error.httpStatus !== undefined && error.httpStatus >= 400 && error.httpStatus < 500) {
        throw new GuestRefused(`${org.domain} refused guest registration: HTTP ${error.httpStatus} ${error.errcode ?? ''} ${error.data.error ?? ''}`.trim());
      }
      throw new Error(`guest registration on ${org.clientUrl} failed: ${errorText(error)}`, { cause: error });
    }) as { user_id: string; access_token: string; device_id: string };
    const localpart = registered.user_id.replace(/^@/, '').split(':')[0] ?? registered.user_id;
    return MatrixChatClient.start({ address: registered.user_id, localpart, password: '', org }, registered, { guest: true });
  }

  private static async start(account: Account, login: { user_id: string; access_token: string; device_id: string }, options: { guest?: boolean } = {}): Promise<MatrixChatClient> {
    const client = createClient({
      baseUrl: account.org.clientUrl,
      userId: login.user_id,
      accessToken: login.access_token,
      deviceId: login.device_id,
      logger: quietLogger,
      // No automatic re-sends: a refusal (4xx/5xx) must reach the scenario as the server gave it, at once.
      scheduler: new MatrixScheduler(() => -1),
    });
    unrefRequestTimeouts(client);
    // A guest's sync must not ask for what guests are refused (push rules, server-side filters).
    if (options.guest) client.setGuest(true);
    const chat = new MatrixChatClient(account, client);
    chat.listen();
    try {
      await chat.untilPrepared();
    } catch (error) {
      await chat.close();
      throw error;
    }
    return chat;
  }

  private get me(): string {
    return this.client.getSafeUserId();
  }

  private listen(): void {
    this.client.on(RoomEvent.Timeline, this.onTimeline);
    this.client.on(RoomEvent.Redaction, this.onRedaction);
    this.client.on(RoomMemberEvent.Membership, this.onMembership);
    this.client.on(ClientEvent.Sync, this.onSync);
    this.client.on(ClientEvent.Event, this.onPresence);
  }

  /** Client-Server API "Presence": m.presence events in /sync's `presence` section, one per user whose state changed. */
  private readonly onPresence = (event: MatrixEvent): void => {
    const sender = event.getSender();
    if (event.getType() !== 'm.presence' || !sender || sender === this.me) return;
    const content = event.getContent();
    const wire = typeof content.presence === 'string' ? content.presence : '(none)';
    const availability: Availability = wire === 'online' ? 'available' : wire === 'unavailable' ? 'busy' : 'offline';
    const status = typeof content.status_msg === 'string' && content.status_msg !== '' ? content.status_msg : undefined;
    this.presenceCount += 1;
    this.record(`presence ${this.presenceCount}`, { kind: 'presence', conversation: sender, sender, availability, ...(status ? { status } : {}), wire, receivedAt: Date.now() });
  };

  private readonly onTimeline = (event: MatrixEvent, room: Room | undefined, toStartOfTimeline: boolean | undefined, removed: boolean): void => {
    const type = event.getType();
    if (toStartOfTimeline || removed || !['m.room.message', 'm.reaction', 'm.room.redaction'].includes(type)) return;
    const id = event.getId();
    const sender = event.getSender();
    const roomId = room?.roomId ?? event.getRoomId();
    // Own messages are not "received" (they are in the transcript as SENT); local echoes have no server id yet.
    if (!id || id.startsWith('~') || !sender || !roomId || sender === this.me) return;
    const receivedAt = Date.now();
    // The content as it came over the wire: getContent() would already show a later replacement's content.
    const content = wireContent(event);
    const relation = isObject(content['m.relates_to']) ? content['m.relates_to'] : {};
    const relType = relation.rel_type;
    const relTarget = typeof relation.event_id === 'string' ? relation.event_id : undefined;
    if (type === 'm.room.redaction') {
      this.recordRedaction(event, roomId);
      return;
    }
    if (type === 'm.reaction') {
      // Client-Server API "Event annotations and reactions": rel_type m.annotation, event_id, key.
      if (relType === 'm.annotation' && relTarget && typeof relation.key === 'string') {
        this.record(`reaction ${id}`, { kind: 'reaction', conversation: roomId, sender, target: relTarget, key: relation.key, receivedAt });
      }
      return;
    }
    if (relType === 'm.replace' && relTarget) {
      // Client-Server API "Event replacements": the new content is in m.new_content.
      const newContent = isObject(content['m.new_content']) ? content['m.new_content'] : {};
      const newBody = typeof newContent.body === 'string' ? newContent.body : '';
      this.record(`edit ${id}`, { kind: 'edit', conversation: roomId, sender, target: relTarget, body: newBody, id, receivedAt });
      return;
    }
    const body = content.body;
    if (typeof content.url === 'string' && fileMsgtypes.includes(String(content.msgtype))) {
      // Client-Server API "m.file" / "m.image": the content URI in `url`, the name in `filename` (v1.10+) or `body`.
      const name = typeof content.filename === 'string' ? content.filename : typeof body === 'string' ? body : '';
      this.record(`file ${id}`, { kind: 'file', conversation: roomId, sender, name, url: content.url, id, receivedAt });
      return;
    }
    const message: MessageEvent = { kind: 'message', conversation: roomId, sender, body: typeof body === 'string' ? body : '', id, receivedAt };
    const mentions = isObject(content['m.mentions']) ? content['m.mentions'].user_ids : undefined;
    if (Array.isArray(mentions)) message.mentions = mentions.filter((m): m is string => typeof m === 'string');
    if (relType === 'm.thread' && relTarget) message.thread = relTarget;
    this.record(`message ${id}`, message);
  };

  /** The SDK applies a redaction to the redacted event and emits it; the redaction event may also reach the timeline. */
  private readonly onRedaction = (event: MatrixEvent, room: Room): void => {
    const id = event.getId();
    const sender = event.getSender();
    if (!id || id.startsWith('~') || !sender || sender === this.me) return;
    this.recordRedaction(event, room.roomId);
  };

  private recordRedaction(event: MatrixEvent, roomId: string): void {
    const id = event.getId();
    const sender = event.getSender();
    if (!id || !sender) return;
    // Room versions up to 10 carry `redacts` at the top level, 11 and later in the content (spec "m.room.redaction").
    const raw = event.event as { redacts?: unknown };
    const redacts = typeof raw.redacts === 'string' ? raw.redacts : wireContent(event).redacts;
    if (typeof redacts !== 'string') {
      this.lines.push(`RECV ${new Date().toISOString()} ${roomId} ${sender}: m.room.redaction ${id} naming no redacted event: ${JSON.stringify(event.event).slice(0, 400)}`);
      return;
    }
    this.record(`retraction ${id}`, { kind: 'retraction', conversation: roomId, sender, target: redacts, receivedAt: Date.now() });
  }

  private readonly onMembership = (event: MatrixEvent | undefined, member: RoomMember): void => {
    const membership = member.membership === 'ban' ? 'leave' : member.membership;
    if (membership !== 'join' && membership !== 'leave' && membership !== 'invite') return;
    const key = event?.getId() ?? `${member.roomId} ${member.userId} ${membership}`;
    const receivedAt = Date.now();
    this.record(`member ${key} ${membership}`, { kind: 'member', conversation: member.roomId, member: member.userId, membership, receivedAt });
    if (membership === 'invite' && member.userId === this.me) {
      const sender = event?.getSender() ?? '(unknown)';
      const direct = event?.getContent().is_direct === true;
      this.record(`invite ${key}`, { kind: 'invite', conversation: member.roomId, sender, direct, receivedAt });
    }
  };

  private readonly onSync = (): void => {
    this.poke();
  };

  private record(key: string, event: ChatEvent): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.events.push(event);
    this.lines.push(`RECV ${new Date(event.receivedAt).toISOString()} ${event.conversation} ${describeEvent(event)}`);
    this.poke();
  }

  private poke(): void {
    for (const waiter of [...this.waiters]) waiter.check();
  }

  /** Resolves when check() holds, re-checked on every received event and every completed sync. */
  private until<T>(check: () => T | undefined, options: WaitOptions, onTimeout: (ms: number) => Error): Promise<T> {
    const timeoutMs = options.timeoutMs ?? defaultWaitMs;
    return new Promise<T>((resolve, reject) => {
      if (this.closed) {
        reject(new Error(`${this.account.address}: client is closed (waiting for ${options.description})`));
        return;
      }
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        check: () => {
          let value: T | undefined;
          try {
            value = check();
          } catch (error) {
            finish();
            reject(error);
            return;
          }
          if (value === undefined) return;
          finish();
          resolve(value);
        },
        cancel: (error) => {
          finish();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        finish();
        reject(onTimeout(timeoutMs));
      }, timeoutMs);
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  private untilPrepared(): Promise<void> {
    let failure: string | undefined;
    let state = 'none';
    const track = (next: SyncState, _previous: SyncState | null, data?: SyncStateData): void => {
      state = next;
      if (next === SyncState.Error) failure = `sync state ERROR: ${errorText(data?.error)}`;
    };
    this.client.on(ClientEvent.Sync, track);
    const prepared = this.until(
      () => {
        if (failure !== undefined) throw new Error(`${this.account.address}: first sync from ${this.account.org.clientUrl} failed: ${failure}`);
        return this.client.isInitialSyncComplete() ? true : undefined;
      },
      { description: 'first sync', timeoutMs: connectTimeoutMs },
      (ms) => new Error(`${this.account.address}: no initial sync from ${this.account.org.clientUrl} within ${ms} ms (sync state ${state})`),
    );
    // History on login: a message that reached the server while the user was logged out is part of what they receive.
    this.client.startClient({ initialSyncLimit: 50, disablePresence: true, threadSupport: false, lazyLoadMembers: false }).catch((error: unknown) => {
      failure = `startClient: ${errorText(error)}`;
      this.poke();
    });
    return prepared.then(() => undefined).finally(() => this.client.off(ClientEvent.Sync, track));
  }

  async waitFor(match: (event: ChatEvent) => boolean, options: WaitOptions): Promise<ChatEvent> {
    const started = Date.now();
    return this.until(
      () => this.events.find(match),
      options,
      (ms) => new ConformanceFailure(
        `${this.account.address} waited ${ms} ms for ${options.description} and it did not arrive; ` +
        `received instead: ${this.summary(started)}`,
        this.evidence(),
      ),
    );
  }

  messages(conversation: Conversation): MessageEvent[] {
    return this.events.filter((e): e is MessageEvent => e.kind === 'message' && e.conversation === conversation.id);
  }

  async openDirect(peerAddress: string): Promise<Conversation> {
    const { room_id: roomId } = await this.operation(`open a direct chat with ${peerAddress}`, () =>
      this.client.createRoom({ is_direct: true, invite: [peerAddress], preset: Preset.TrustedPrivateChat }));
    this.note('SENT', roomId, `createRoom is_direct invite=${peerAddress}`);
    return { id: roomId, kind: 'direct' };
  }

  async acceptDirect(fromAddress: string, options?: Partial<WaitOptions>): Promise<Conversation> {
    const invite = await this.waitFor(
      (e) => e.kind === 'invite' && e.sender === fromAddress && this.myMembership(e.conversation) !== 'join',
      { description: options?.description ?? `an invitation to a direct chat from ${fromAddress}`, timeoutMs: options?.timeoutMs },
    );
    await this.join(invite.conversation, [serverOf(fromAddress)], `accept the direct chat from ${fromAddress}`, options?.timeoutMs);
    return { id: invite.conversation, kind: 'direct' };
  }

  async createRoom(name: string, options?: RoomOptions): Promise<{ conversation: Conversation; ref: string }> {
    // Client-Server API "Guest access": m.room.guest_access can_join lets guests join; forbidden (the default) refuses them.
    const guestAccess = options?.guests === undefined ? []
      : [{ type: 'm.room.guest_access', state_key: '', content: { guest_access: options.guests ? 'can_join' : 'forbidden' } }];
    // "Room history visibility": with "joined", members see events from their own join on only.
    const history = options?.history === 'joined' ? [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } }] : [];
    // "Message retention policies" (MSC1763, Synapse): the room's max_lifetime in milliseconds.
    const retention = options?.retentionSeconds === undefined ? []
      : [{ type: 'm.room.retention', state_key: '', content: { max_lifetime: options.retentionSeconds * 1000 } }];
    const { room_id: roomId } = await this.operation(`create room "${name}"`, () =>
      this.client.createRoom({ name, preset: Preset.PublicChat, initial_state: [...guestAccess, ...history, ...retention] }));
    this.note('SENT', roomId, `createRoom name=${JSON.stringify(name)}`);
    return { conversation: { id: roomId, kind: 'room' }, ref: roomRef(roomId, this.account.org.domain) };
  }

  async invite(conversation: Conversation, address: string): Promise<void> {
    await this.operation(`invite ${address} to ${conversation.id}`, () => this.client.invite(conversation.id, address));
    this.note('SENT', conversation.id, `invite ${address}`);
  }

  async searchDirectory(term: string): Promise<DirectoryAnswer> {
    const { results } = await this.operation(`search the user directory for "${term}"`, () => this.client.searchUserDirectory({ term, limit: 10 }));
    this.note('SENT', '-', `user directory search ${JSON.stringify(term)} → ${results.length} result(s)`);
    return { offered: true, found: results.map((r) => r.user_id) };
  }

  async joinRoom(ref: string): Promise<Conversation> {
    const { roomId, via } = parseRoomRef(ref);
    await this.join(roomId, via, `join room ${ref}`);
    return { id: roomId, kind: 'room' };
  }

  async send(conversation: Conversation, body: string, options?: SendOptions): Promise<string> {
    if (!options?.mentions && !options?.threadRoot) {
      const { event_id: eventId } = await this.operation(`send a message in ${conversation.id}`, () =>
        this.client.sendMessage(conversation.id, { msgtype: MsgType.Text, body }));
      this.note('SENT', conversation.id, `${this.me}: ${quote(body)} (${eventId})`);
      return eventId;
    }
    const content: Record<string, unknown> = { msgtype: MsgType.Text, body };
    if (options.mentions) {
      // Client-Server API "User and room mentions": m.mentions.user_ids, and the body names the user.
      content['m.mentions'] = { user_ids: options.mentions };
      let html = escapeHtml(body);
      for (const user of options.mentions) html = html.split(escapeHtml(user)).join(`<a href="https://matrix.to/#/${encodeURIComponent(user)}">${escapeHtml(user)}</a>`);
      content.format = 'org.matrix.custom.html';
      content.formatted_body = html;
    }
    if (options.threadRoot) {
      // Client-Server API "Threading": rel_type m.thread to the thread root, with the reply fallback.
      content['m.relates_to'] = { rel_type: 'm.thread', event_id: options.threadRoot, is_falling_back: true, 'm.in_reply_to': { event_id: options.threadRoot } };
    }
    const eventId = await this.sendRaw(conversation, 'm.room.message', content, `send a message in ${conversation.id}`);
    const extras = [options.mentions ? `mentions=${options.mentions.join(',')}` : '', options.threadRoot ? `thread=${options.threadRoot}` : ''].filter(Boolean).join(' ');
    this.note('SENT', conversation.id, `${this.me}: ${quote(body)} ${extras} (${eventId})`);
    return eventId;
  }

  async edit(conversation: Conversation, messageId: string, newBody: string): Promise<string> {
    const eventId = await this.sendRaw(conversation, 'm.room.message', {
      msgtype: MsgType.Text,
      body: `* ${newBody}`,
      'm.new_content': { msgtype: MsgType.Text, body: newBody },
      'm.relates_to': { rel_type: 'm.replace', event_id: messageId },
    }, `edit ${messageId} in ${conversation.id}`);
    this.note('SENT', conversation.id, `${this.me}: edit of ${messageId} to ${quote(newBody)} (${eventId})`);
    return eventId;
  }

  async retract(conversation: Conversation, messageId: string): Promise<void> {
    const { event_id: eventId } = await this.operation(`redact ${messageId} in ${conversation.id}`, () =>
      this.client.redactEvent(conversation.id, messageId));
    this.note('SENT', conversation.id, `${this.me}: redaction of ${messageId} (${eventId})`);
  }

  async react(conversation: Conversation, messageId: string, key: string): Promise<string> {
    const eventId = await this.sendRaw(conversation, 'm.reaction', {
      'm.relates_to': { rel_type: 'm.annotation', event_id: messageId, key },
    }, `react to ${messageId} in ${conversation.id}`);
    this.note('SENT', conversation.id, `${this.me}: reaction ${quote(key)} to ${messageId} (${eventId})`);
    return eventId;
  }

  /** Sends an event with exactly this content (the SDK's typed helpers would add or reshape relations). */
  private async sendRaw(conversation: Conversation, type: string, content: Record<string, unknown>, what: string): Promise<string> {
    type SendEvent = (roomId: string, eventType: string, content: Record<string, unknown>) => Promise<{ event_id: string }>;
    const sendEvent = this.client.sendEvent.bind(this.client) as unknown as SendEvent;
    const { event_id: eventId } = await this.operation(what, () => sendEvent(conversation.id, type, content));
    return eventId;
  }

  // --- Files and profiles (FED-FILE, FED-DIRECTORY) ----------------------------------------

  async shareFile(conversation: Conversation, file: FileToShare): Promise<string> {
    // Client-Server API "Content repository": POST /_matrix/media/v3/upload answers {content_uri: "mxc://…"}.
    const url = `${this.account.org.clientUrl}/_matrix/media/v3/upload?filename=${encodeURIComponent(file.name)}`;
    const answer = await this.media('upload', url, { method: 'POST', headers: { 'content-type': file.mimeType }, body: file.data });
    const uploaded = JSON.parse(Buffer.from(answer).toString('utf8')) as { content_uri?: unknown };
    if (typeof uploaded.content_uri !== 'string') throw new Error(`upload to ${url} answered without content_uri`);
    this.note('SENT', conversation.id, `upload ${quote(file.name)} (${file.data.length} bytes) → ${uploaded.content_uri}`);
    const msgtype = file.mimeType.startsWith('image/') ? 'm.image' : 'm.file';
    const eventId = await this.sendRaw(conversation, 'm.room.message', {
      msgtype, body: file.name, filename: file.name, url: uploaded.content_uri, info: { size: file.data.length, mimetype: file.mimeType },
    }, `share the file ${file.name} in ${conversation.id}`);
    this.note('SENT', conversation.id, `${this.me}: ${msgtype} ${quote(file.name)} (${eventId})`);
    return eventId;
  }

  async downloadFile(file: FileEvent): Promise<Uint8Array> {
    const match = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(file.url);
    if (!match) throw new ConformanceFailure(`${file.sender}'s file message carries ${JSON.stringify(file.url)}, not an mxc:// content URI`, this.evidence());
    const [, server, mediaId] = match as unknown as [string, string, string];
    const path = `${encodeURIComponent(server)}/${encodeURIComponent(mediaId)}`;
    // Spec v1.11 "Client authentication" for media: GET /_matrix/client/v1/media/download/{serverName}/{mediaId}
    // with the access token; a server advertising no v1.11 still has the older /_matrix/media/v3/download.
    const url = (await this.advertisesAuthenticatedMedia())
      ? `${this.account.org.clientUrl}/_matrix/client/v1/media/download/${path}`
      : `${this.account.org.clientUrl}/_matrix/media/v3/download/${path}`;
    const data = await this.media('download', url, { method: 'GET' });
    this.note('SENT', file.conversation, `download ${file.url} via ${new URL(url).pathname} → ${data.length} bytes`);
    return data;
  }

  async setDisplayName(name: string): Promise<void> {
    await this.operation(`set the display name ${quote(name)}`, () => this.client.setDisplayName(name));
    this.note('SENT', '-', `${this.me}: displayname ${quote(name)}`);
  }

  async lookupProfile(address: string): Promise<Profile> {
    // Client-Server API "Profiles": GET /_matrix/client/v3/profile/{userId}; for a remote user the server asks
    // the user's server (Server-Server API "Querying for information": GET /_matrix/federation/v1/query/profile).
    const info = await this.operation(`look up the profile of ${address}`, () => this.client.getProfileInfo(address));
    this.lines.push(`RECV ${new Date().toISOString()} - profile of ${address}: ${JSON.stringify(info)}`);
    return typeof info.displayname === 'string' ? { displayName: info.displayname } : {};
  }

  /** Whether this user's server lists spec version v1.11 or later (authenticated media) in /_matrix/client/versions. */
  private async advertisesAuthenticatedMedia(): Promise<boolean> {
    const response = await fetch(`${this.account.org.clientUrl}/_matrix/client/versions`, { signal: AbortSignal.timeout(defaultWaitMs) });
    const { versions } = await response.json() as { versions?: unknown };
    const advertised = Array.isArray(versions) ? versions.filter((v): v is string => typeof v === 'string') : [];
    this.lines.push(`RECV ${new Date().toISOString()} - ${this.account.org.domain} /_matrix/client/versions: ${advertised.join(' ')}`);
    return advertised.some((v) => { const m = /^v1\.(\d+)$/.exec(v); return m !== null && Number(m[1]) >= 11; });
  }

  /** One media request with this user's token; an error answer is the product refusing (ConformanceFailure). */
  private async media(what: 'upload' | 'download', url: string, init: { method: string; headers?: Record<string, string>; body?: Uint8Array }): Promise<Uint8Array> {
    const response = await fetch(url, {
      method: init.method,
      ...(init.body ? { body: new Uint8Array(init.body) } : {}),
      headers: { ...init.headers, authorization: `Bearer ${this.client.getAccessToken() ?? ''}` },
      signal: AbortSignal.timeout(60_000),
    });
    const data = new Uint8Array(await response.arrayBuffer());
    if (!response.ok) {
      const text = Buffer.from(data).toString('utf8').slice(0, 300);
      this.note('FAIL', '-', `${what} ${new URL(url).pathname}: HTTP ${response.status} ${text}`);
      throw new ConformanceFailure(`${this.account.address} could not ${what} a file: ${this.account.org.domain} answered HTTP ${response.status} `
        + `to ${init.method} ${new URL(url).pathname}: ${text}`, this.evidence());
    }
    return data;
  }

  // Presence: Matrix shares it with everyone who shares a room (Client-Server API "Presence"); nothing to request.
  async requestPresence(): Promise<void> {}

  async approvePresence(): Promise<void> {}

  async setPresence(availability: Exclude<Availability, 'offline'>, status?: string): Promise<void> {
    // Matrix has no "busy": `unavailable` is the state a present user sets to say they are not available to chat.
    const presence = availability === 'available' ? 'online' : 'unavailable';
    await this.operation(`set presence ${presence}`, () => this.client.setPresence({ presence, ...(status !== undefined ? { status_msg: status } : {}) }));
    this.note('SENT', '-', `presence ${presence}${status !== undefined ? ` status_msg=${quote(status)}` : ''}`);
  }

  /** The room's history as this user's server orders it: GET /rooms/{roomId}/messages backwards from now, reversed. */
  async history(conversation: Conversation): Promise<MessageEvent[]> {
    const newestFirst: MessageEvent[] = [];
    let from: string | null = null;
    for (let page = 0; page < 20; page++) {
      const answer = await this.operation(`read the history of ${conversation.id}`, () =>
        this.client.createMessagesRequest(conversation.id, from, 100, Direction.Backward));
      for (const raw of answer.chunk) {
        const content = isObject(raw.content) ? raw.content : {};
        const relation = isObject(content['m.relates_to']) ? content['m.relates_to'] : {};
        if (raw.type !== 'm.room.message' || relation.rel_type === 'm.replace') continue;
        // receivedAt: history is not received live, so the sending server's timestamp.
        newestFirst.push({ kind: 'message', conversation: conversation.id, sender: raw.sender, body: typeof content.body === 'string' ? content.body : '', id: raw.event_id, receivedAt: raw.origin_server_ts });
      }
      if (!answer.end || answer.chunk.length === 0) break;
      from = answer.end;
    }
    return newestFirst.reverse();
  }

  private freshSyncs = 0;

  /** RET-*: every client read path of this user's server, asked for the given messages. */
  async readBack(conversation: Conversation, messages: SentMessage[]): Promise<ReadPathAnswer[]> {
    const roomId = conversation.id;
    const ids = new Set(messages.map((m) => m.id));
    const paged = (await this.history(conversation)).map((m) => m.id).filter((id) => ids.has(id));
    // GET /rooms/{roomId}/event/{eventId}: 404 when the server no longer gives the event out.
    const fetched = (await Promise.all(messages.map(async ({ id }) => {
      try {
        await this.client.fetchRoomEvent(roomId, id);
        return id;
      } catch (error) {
        if (error instanceof MatrixError && error.httpStatus === 404) return undefined;
        throw error;
      }
    }))).filter((id): id is string => id !== undefined);
    // POST /search (room_events) for each body, limited to this room.
    const searched = (await Promise.all(messages.map(async ({ id, body }) => {
      const answer = await this.operation(`search ${roomId} for ${quote(body)}`, () => this.client.search({
        body: { search_categories: { room_events: { search_term: body, filter: { rooms: [roomId] } } } },
      }));
      return (answer.search_categories.room_events?.results ?? []).some((r) => r.result.event_id === id) ? id : undefined;
    }))).filter((id): id is string => id !== undefined);
    // A fresh /sync (no since token), as a newly logged-in device would get the room's recent timeline.
    const filter = JSON.stringify({ room: { rooms: [roomId], timeline: { limit: 100 }, state: { lazy_load_members: true } }, presence: { not_types: ['*'] }, account_data: { not_types: ['*'] } });
    // A different timeout each time (an initial sync ignores it) keeps Synapse from answering a repeat out of its sync
    // response cache (sync_response_cache_duration, 2 min), which would still hold the events of a minute ago.
    const sync = await this.operation(`sync ${roomId} afresh`, () => this.client.http.authedRequest<{ rooms?: { join?: Record<string, { timeline?: { events?: Array<{ event_id: string }> } }> } }>(
      Method.Get, '/sync', { filter, timeout: String(this.freshSyncs++) }));
    const synced = (sync.rooms?.join?.[roomId]?.timeline?.events ?? []).map((e) => e.event_id).filter((id) => ids.has(id));
    const answers = [
      { path: 'GET /rooms/{roomId}/messages', readable: paged },
      { path: 'GET /rooms/{roomId}/event/{eventId}', readable: fetched },
      { path: 'POST /search', readable: searched },
      { path: 'GET /sync (initial)', readable: synced },
    ];
    this.note('SENT', roomId, `read back ${messages.length} message(s): ${answers.map((a) => `${a.path} → ${a.readable.length}`).join('; ')}`);
    return answers;
  }

  async members(conversation: Conversation): Promise<string[]> {
    const answer = await this.operation(`list the members of ${conversation.id}`, () => this.client.getJoinedRoomMembers(conversation.id));
    return Object.keys(answer.joined).sort();
  }

  async memberRecord(conversation: Conversation, address: string): Promise<Record<string, unknown> | undefined> {
    const content = await this.operation(`read the m.room.member state of ${address} in ${conversation.id}`,
      () => this.client.getStateEvent(conversation.id, 'm.room.member', address)).catch((error: unknown) => {
      if (error instanceof ConformanceFailure && /\b404\b|M_NOT_FOUND/.test(error.message)) return undefined;
      throw error;
    });
    return content ? { ...content } : undefined;
  }

  transcript(): string[] {
    return [...this.lines];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.stopClient();
    this.client.removeAllListeners();
    const closed = new Error(`${this.account.address}: client closed while waiting`);
    for (const waiter of [...this.waiters]) waiter.cancel(closed);
  }

  private async join(roomId: string, via: string[], what: string, timeoutMs?: number): Promise<void> {
    await this.operation(what, () => this.client.joinRoom(roomId, { viaServers: via, syncRoom: false }));
    this.note('SENT', roomId, `join via ${via.join(',') || '(none)'}`);
    await this.until(
      () => (this.myMembership(roomId) === 'join' ? true : undefined),
      { description: `${this.me} joined in ${roomId}`, timeoutMs },
      (ms) => new ConformanceFailure(
        `${this.account.address}: the server accepted the join of ${roomId} but the client did not see itself joined within ${ms} ms`,
        this.evidence(),
      ),
    );
  }

  private myMembership(roomId: string): string | undefined {
    return this.client.getRoom(roomId)?.getMyMembership();
  }

  /** Runs one client-server request; an error answer from the server is the product refusing. */
  private async operation<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof MatrixError && error.httpStatus !== undefined && error.httpStatus >= 400 && error.httpStatus < 600) {
        const errcode = error.errcode ?? error.data.errcode ?? 'no errcode';
        const message = error.data.error ?? error.message;
        this.note('FAIL', '-', `${what}: HTTP ${error.httpStatus} ${errcode}: ${message}`);
        throw new ConformanceFailure(
          `${this.account.address} could not ${what}: ${this.account.org.domain} answered HTTP ${error.httpStatus} ${errcode}: ${message}`,
          this.evidence(),
        );
      }
      throw error;
    }
  }

  private note(direction: 'SENT' | 'FAIL', room: string, text: string): void {
    this.lines.push(`${direction} ${new Date().toISOString()} ${room} ${text}`);
  }

  private summary(since: number): string {
    const recent = this.events.filter((e) => e.receivedAt >= since);
    const all = this.events.length;
    if (all === 0) return 'nothing at all';
    const counts = new Map<string, number>();
    for (const e of this.events) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
    const tally = [...counts].map(([kind, n]) => `${n} ${kind}`).join(', ');
    const last = this.events.slice(-3).map((e) => `${e.conversation} ${describeEvent(e)}`).join('; ');
    return `${all} events in total (${tally}; ${recent.length} while waiting); last: ${last}`;
  }

  private evidence(): string {
    return [`transcript of ${this.account.address}:`, ...this.lines].join('\n');
  }
}

/**
 * Room versions 12 and later have room ids without a server name, so the ref names a server to join
 * through: a `matrix:` URI (spec "Matrix URI scheme") `matrix:roomid/<id without !>?via=<server>`.
 */
function roomRef(roomId: string, server: string): string {
  return `matrix:roomid/${encodeURIComponent(roomId.slice(1))}?via=${encodeURIComponent(server)}`;
}

/** Accepts a `matrix:roomid/…?via=…` URI or a bare room id (its server name, if it has one, is the via). */
function parseRoomRef(ref: string): { roomId: string; via: string[] } {
  if (ref.startsWith('matrix:')) {
    const match = /^matrix:roomid\/([^?]+)(?:\?(.*))?$/.exec(ref);
    if (!match?.[1]) throw new Error(`not a matrix: room id URI: ${ref}`);
    const via = new URLSearchParams(match[2] ?? '').getAll('via');
    return { roomId: `!${decodeURIComponent(match[1])}`, via };
  }
  if (!ref.startsWith('!')) throw new Error(`not a Matrix room id: ${ref}`);
  const colon = ref.indexOf(':');
  return { roomId: ref, via: colon > 0 ? [ref.slice(colon + 1)] : [] };
}

function serverOf(userId: string): string {
  const colon = userId.indexOf(':');
  if (!userId.startsWith('@') || colon < 0) throw new Error(`not a Matrix user id: ${userId}`);
  return userId.slice(colon + 1);
}

function describeEvent(event: ChatEvent): string {
  switch (event.kind) {
    case 'message': return `${event.sender}: ${quote(event.body)} (${event.id})`;
    case 'member': return `member ${event.member} ${event.membership}`;
    case 'invite': return `invite from ${event.sender}${event.direct ? ' (direct)' : ''}`;
    case 'edit': return `${event.sender}: edit of ${event.target} to ${quote(event.body)} (${event.id})`;
    case 'retraction': return `${event.sender}: redaction of ${event.target}`;
    case 'reaction': return `${event.sender}: reaction ${quote(event.key)} to ${event.target}`;
    case 'file': return `${event.sender}: file ${quote(event.name)} ${event.url} (${event.id})`;
    case 'presence': return `${event.sender}: presence ${event.wire}${event.status !== undefined ? ` ${quote(event.status)}` : ''}`;
    case 'contact-request': return `${event.sender}: asks to see presence`;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The event's content as the server sent it (not replaced by a later edit, not emptied by a later redaction). */
function wireContent(event: MatrixEvent): Record<string, unknown> {
  const content: unknown = event.getOriginalContent();
  return isObject(content) ? content : {};
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The body as a JSON string, cut after ~200 characters (whole code points, never half an emoji). */
function quote(body: string): string {
  const chars = Array.from(body);
  if (chars.length <= transcriptBodyChars) return JSON.stringify(body);
  return `${JSON.stringify(`${chars.slice(0, transcriptBodyChars).join('')}…`)} [${chars.length} chars]`;
}

function errorText(error: unknown): string {
  if (error instanceof MatrixError) return `HTTP ${error.httpStatus ?? '?'} ${error.errcode ?? ''} ${error.data.error ?? ''}`.trim();
  return error instanceof Error ? error.message : String(error);
}

/**
 * matrix-js-sdk arms a timer for every request's local timeout and never clears it (its `timeoutSignal`;
 * upstream issue #2472): after close() each /sync leaves a 110 s timer that keeps Node (and a vitest
 * worker) alive. The timer only aborts the request, so it is made unref'd: it still fires while anything
 * else keeps the process running. The SDK creates it synchronously when a request starts, so setTimeout
 * is swapped for exactly that synchronous stretch of requestOtherUrl and restored before it returns.
 */
export function unrefRequestTimeouts(client: MatrixClient): void {
  type Request = (this: unknown, ...args: unknown[]) => Promise<unknown>;
  const http = client.http as unknown as { requestOtherUrl: Request };
  const original = http.requestOtherUrl;
  http.requestOtherUrl = function (this: unknown, ...args: unknown[]) {
    const realSetTimeout = globalThis.setTimeout;
    const unrefSetTimeout = (...timerArgs: Parameters<typeof realSetTimeout>) => realSetTimeout(...timerArgs).unref();
    globalThis.setTimeout = Object.assign(unrefSetTimeout, realSetTimeout);
    try {
      return original.apply(this, args);
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
  };
}

/**
 * Errors the SDK logs about itself that say nothing about the server under test. MatrixRTC logs this one
 * whenever a room's state arrives in the same sync that creates the room (every createRoom/join).
 */
const benignSdkErrors = [/^Got room state event for unknown room /];

function isBenign(msg: unknown[]): boolean {
  const [first] = msg;
  return typeof first === 'string' && benignSdkErrors.some((pattern) => pattern.test(first));
}

/** A Logger that passes on errors only, one line each (failed requests also reach the scenario as exceptions). */
export const quietLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (...msg: unknown[]) => {
    if (!isBenign(msg)) console.error('[matrix-js-sdk]', msg.map((m) => (typeof m === 'string' ? m : errorText(m))).join(' '));
  },
  getChild: () => quietLogger,
};

/**
 * matrix-js-sdk's module-level logger (loglevel) logs at DEBUG. Raise it to error; the method factory
 * is copied into the child loggers the SDK creates later (per client and room), so they stay quiet too.
 */
function quietenSdkLogger(): void {
  type LogMethod = (this: unknown, ...msg: unknown[]) => void;
  type MethodFactory = (methodName: string, level: number, loggerName: string | symbol) => LogMethod;
  const root = sdkLogger as unknown as { methodFactory: MethodFactory; setLevel(level: string, persist?: boolean): void; rebuild?: () => void };
  const original = root.methodFactory;
  root.methodFactory = (methodName, level, loggerName) => {
    if (methodName !== 'error') return () => undefined;
    const write = original(methodName, level, loggerName);
    // A function, not an arrow: the SDK's method reads its prefix from `this` (the child logger).
    return function (this: unknown, ...msg: unknown[]) {
      if (!isBenign(msg)) write.apply(this, msg);
    };
  };
  root.setLevel('error', false);
  root.rebuild?.();
}

quietenSdkLogger();

/** The client-server API base URL and access token behind a Matrix ChatClient, for probes that make raw requests. */
export function clientApiAccess(chat: ChatClient): { baseUrl: string; accessToken: string } {
  if (!(chat instanceof MatrixChatClient)) throw new Error(`${chat.account.address} is not a Matrix client`);
  const sdk = chat['client'];
  const accessToken = sdk.getAccessToken();
  if (!accessToken) throw new Error(`${chat.account.address} has no access token`);
  return { baseUrl: sdk.baseUrl, accessToken };
}
