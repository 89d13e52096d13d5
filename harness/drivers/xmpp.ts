/**
 * The XMPP protocol driver: @xmpp/client sessions over STARTTLS against a lab server's c2s port.
 *
 * Login: SASL PLAIN inside STARTTLS with the lab CA verified (SCRAM when a server offers no PLAIN).
 *
 * Trust: the lab's certificates are signed by a throwaway CA that Node does not know. Call
 * `trustLabCa(lab.caFile)` once per process (or set FEDCONF_LAB_CA to the CA's PEM file) before
 * `connect()`. Only STARTTLS upgrades of sockets this driver opened get the lab CA (and only it) as
 * trust anchors; see installLabTrust().
 *
 * Rooms: createRoom() configures a new MUC as persistent, public and non-anonymous (whois = anyone), so
 * every occupant sees real JIDs: `members()` and room message senders are bare real JIDs; an occupant whose
 * real JID the room hides is reported as its occupant JID (room@service/nick).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { client, jid as parseJid, xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { provisionAccount, removeAccount } from '../provisioning/index.ts';
import { ConformanceFailure } from '../verdict/failure.ts';
import type { OrganisationDescription } from '../lab/types.ts';
import {
  defaultWaitMs,
  type Account,
  type ChatClient,
  type ChatEvent,
  type Conversation,
  type ProtocolDriver,
  type WaitOptions,
} from './driver.ts';

const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const NS_DATA = 'jabber:x:data';
const NS_VERSION = 'jabber:iq:version';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

const connectTimeoutMs = 15_000;
/** How long connect() waits for the server to reflect the initial presence before going on regardless. */
const presenceEchoMs = 5_000;

// ---------------------------------------------------------------------------------------------
// Trust in the lab CA

let labCaFile: string | undefined;

/** The PEM file of the lab CA every later connect() trusts (instead of the system store). */
export function trustLabCa(caFile: string): void {
  readFileSync(caFile); // fail now, not at the first connect
  labCaFile = caFile;
}

function labCa(): Buffer {
  const file = labCaFile ?? process.env.FEDCONF_LAB_CA;
  if (!file) {
    throw new Error('xmpp driver: the lab CA is unknown; call trustLabCa(lab.caFile) or set FEDCONF_LAB_CA before connect()');
  }
  return readFileSync(file);
}

/** Raw TCP sockets of this driver's sessions → the CA their STARTTLS upgrade must trust. */
const caBySocket = new WeakMap<object, Buffer>();
let trustInstalled: Promise<void> | undefined;

/**
 * @xmpp/starttls upgrades with `tls.connect({ socket, host })` through @xmpp/tls's Socket class and
 * offers no option for trust anchors. This wraps that class's connect() once per process: for sockets
 * registered in caBySocket it adds `ca` (which replaces Node's default store); any other call is untouched.
 */
function installLabTrust(): Promise<void> {
  trustInstalled ??= (async () => {
    const specifier = '@xmpp/tls/lib/Socket.js'; // the class @xmpp/starttls imports
    const module = (await import(specifier)) as { default?: { prototype?: { connect?: (...args: unknown[]) => unknown } } };
    const proto = module.default?.prototype;
    const original = proto?.connect;
    if (!proto || typeof original !== 'function') throw new Error(`xmpp driver: ${specifier} has no Socket.prototype.connect to wrap`);
    proto.connect = function connectWithLabCa(this: unknown, ...args: unknown[]) {
      const [options] = args;
      if (options && typeof options === 'object' && 'socket' in options) {
        const ca = caBySocket.get((options as { socket: object }).socket);
        if (ca) return original.call(this, { ...options, ca }, ...args.slice(1));
      }
      return original.apply(this, args);
    };
  })();
  return trustInstalled;
}

// ---------------------------------------------------------------------------------------------
// Sessions

const bare = (address: string): string => parseJid(address).bare().toString();

function clientService(org: OrganisationDescription): string {
  const url = new URL(org.clientUrl);
  if (url.protocol !== 'xmpp:') throw new Error(`xmpp driver: ${org.name} clientUrl ${org.clientUrl} is not xmpp://host:port`);
  return `xmpp://${url.hostname}:${url.port || '5222'}`;
}

function abbreviate(stanza: Element): string {
  const text = stanza.toString()
    .replace(/<body>([\s\S]*?)<\/body>/g, (all, content: string) =>
      content.length > 160 ? `<body>${content.slice(0, 160)}…[+${content.length - 160} chars]</body>` : all);
  return text.length > 800 ? `${text.slice(0, 800)}…[+${text.length - 800} chars]` : text;
}

/** `condition (text) from X` for an error stanza. */
function describeError(stanza: Element): string {
  const error = stanza.getChild('error');
  const condition = error?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === NS_STANZAS && c.name !== 'text');
  const text = error?.getChildText('text', NS_STANZAS);
  return `${stanza.name} error ${condition?.name ?? 'undefined-condition'}${error?.attrs.type ? `/${error.attrs.type}` : ''}`
    + `${text ? ` ("${text}")` : ''} from ${stanza.attrs.from ?? '(server)'}`;
}

function describeEvent(event: ChatEvent): string {
  switch (event.kind) {
    case 'message': {
      const body = event.body.length > 60 ? `${event.body.slice(0, 60)}…(${event.body.length} chars)` : event.body;
      return `message in ${event.conversation} from ${event.sender}: ${JSON.stringify(body)}`;
    }
    case 'member':
      return `${event.member} ${event.membership} in ${event.conversation}`;
    case 'invite':
      return `invite to ${event.conversation} from ${event.sender}`;
  }
}

interface Occupant {
  nick: string;
  realJid?: string;
}

interface RoomState {
  jid: string;
  nick: string;
  occupants: Map<string, Occupant>;
  joined: boolean;
  join?: {
    resolve: (self: { created: boolean }) => void;
    reject: (error: Error) => void;
  };
}

interface Waiter {
  match: (event: ChatEvent) => boolean;
  resolve: (event: ChatEvent) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface SessionOptions {
  ca: Buffer;
  resource?: string;
}

class XmppChatClient implements ChatClient {
  private readonly events: ChatEvent[] = [];
  private readonly errors: string[] = [];
  private readonly log: string[] = [];
  private readonly rooms = new Map<string, RoomState>();
  private readonly waiters = new Set<Waiter>();
  private closing = false;
  private connectionState = 'not connected';

  private constructor(readonly account: Account, readonly xmpp: Client) {}

  static async open(account: Account, options: SessionOptions): Promise<XmppChatClient> {
    await installLabTrust();
    const xmpp = client({
      service: clientService(account.org),
      domain: account.org.domain,
      username: account.localpart,
      // PLAIN inside the verified TLS channel. xmpp.js computes SCRAM's PBKDF2 with one WebCrypto call per
      // iteration, about 2 s per login against Prosody's 10 000 iterations; without TLS PLAIN is never offered.
      credentials: async (authenticate, mechanisms, _fast, entity) => {
        const mechanism = entity.isSecure() && mechanisms.includes('PLAIN') ? 'PLAIN' : mechanisms.find((m) => m !== 'PLAIN');
        if (!mechanism) throw new Error(`no usable SASL mechanism among ${mechanisms.join(', ')}`);
        await authenticate({ username: account.localpart, password: account.password }, mechanism, xml('user-agent', { id: randomUUID() }));
      },
      resource: options.resource ?? `fedconf-${randomBytes(4).toString('hex')}`,
    });
    xmpp.reconnect.stop(); // a dropped session is evidence, not something to paper over
    const session = new XmppChatClient(account, xmpp);
    xmpp.on('connect', () => {
      if (xmpp.socket) caBySocket.set(xmpp.socket, options.ca);
    });
    xmpp.on('status', (status: string) => {
      session.connectionState = status;
      if (status === 'disconnect' && !session.closing) session.note('connection lost');
    });
    xmpp.on('error', (error: Error) => session.note(`error: ${error.message}`));
    xmpp.on('send', (element: Element) => {
      if (['message', 'presence', 'iq'].includes(element.name)) session.record('SENT', abbreviate(element));
    });
    xmpp.on('stanza', (stanza: Element) => {
      session.record('RECV', abbreviate(stanza));
      try {
        session.onStanza(stanza);
      } catch (error) {
        session.note(`could not interpret stanza: ${error instanceof Error ? error.message : String(error)}`);
      }
    });

    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        xmpp.start(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no session after ${connectTimeoutMs} ms`)), connectTimeoutMs);
        }),
      ]);
    } catch (error) {
      await session.shutdown();
      const reason = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
      throw new Error(`xmpp driver: ${account.address} could not log in at ${account.org.clientUrl}: ${reason}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    // Initial presence: without it some servers (ejabberd) store chat messages offline instead of delivering them.
    // Wait until the server reflects it to this resource (RFC 6121 §4.2.2): before that the session is not yet
    // available, and ejabberd 23.01 stores a message arriving in that window offline, where it stays until the
    // next login (the test that sent it would wait in vain).
    const self = xmpp.jid;
    let echoTimer: NodeJS.Timeout | undefined;
    const reflected = new Promise<void>((resolve) => {
      const onStanza = (stanza: Element) => {
        const from: string | undefined = stanza.attrs.from;
        if (!stanza.is('presence') || stanza.attrs.type !== undefined || !from || !self || !parseJid(from).equals(self)) return;
        xmpp.removeListener('stanza', onStanza);
        clearTimeout(echoTimer);
        resolve();
      };
      xmpp.on('stanza', onStanza);
      echoTimer = setTimeout(() => {
        xmpp.removeListener('stanza', onStanza);
        session.note(`the server did not reflect the initial presence within ${presenceEchoMs} ms`);
        resolve();
      }, presenceEchoMs);
    });
    await xmpp.send(xml('presence'));
    await reflected;
    return session;
  }

  private record(direction: 'SENT' | 'RECV' | 'NOTE', text: string): void {
    this.log.push(`${new Date().toISOString()} ${direction} ${text}`);
  }

  private note(text: string): void {
    this.record('NOTE', text);
  }

  // --- incoming ---------------------------------------------------------------------------

  private push(event: ChatEvent): void {
    this.events.push(event);
    for (const waiter of [...this.waiters]) {
      if (waiter.match(event)) {
        this.waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(event);
      }
    }
  }

  private onStanza(stanza: Element): void {
    if (stanza.is('message')) this.onMessage(stanza);
    else if (stanza.is('presence')) this.onPresence(stanza);
    else if (stanza.is('iq') && stanza.attrs.type === 'error') this.errors.push(describeError(stanza));
  }

  private onMessage(stanza: Element): void {
    const from: string | undefined = stanza.attrs.from;
    const type: string = stanza.attrs.type ?? 'normal';
    if (type === 'error') {
      this.errors.push(describeError(stanza));
      return;
    }
    const body = stanza.getChildText('body');
    if (body === null || !from) return;
    const fromJid = parseJid(from);
    const fromBare = fromJid.bare().toString();
    const id: string = stanza.attrs.id ?? '';
    const receivedAt = Date.now();
    const room = this.rooms.get(fromBare);
    if (type === 'groupchat') {
      if (!room) return;
      const nick = fromJid.resource;
      const sender = !nick ? fromBare : room.occupants.get(nick)?.realJid ?? from;
      this.push({ kind: 'message', conversation: fromBare, sender, body, id, receivedAt });
    } else if (!room && (type === 'chat' || type === 'normal')) {
      this.push({ kind: 'message', conversation: fromBare, sender: fromBare, body, id, receivedAt });
    }
  }

  private onPresence(stanza: Element): void {
    const from: string | undefined = stanza.attrs.from;
    if (!from) return;
    const fromJid = parseJid(from);
    const room = this.rooms.get(fromJid.bare().toString());
    if (stanza.attrs.type === 'error') {
      const error = describeError(stanza);
      this.errors.push(error);
      if (room?.join) {
        const join = room.join;
        room.join = undefined;
        this.rooms.delete(room.jid);
        join.reject(new ConformanceFailure(`${this.account.address} could not join ${room.jid}: the server answered with ${error}`,
          this.transcript().join('\n')));
      }
      return;
    }
    const x = stanza.getChild('x', NS_MUC_USER);
    if (!room || !x) return;
    const nick = fromJid.resource;
    if (!nick) return;
    const statuses = new Set(x.getChildren('status').map((s) => String(s.attrs.code)));
    const item = x.getChild('item');
    const realJid = item?.attrs.jid ? bare(String(item.attrs.jid)) : undefined;
    const isSelf = statuses.has('110') || nick === room.nick;
    const receivedAt = Date.now();
    if (stanza.attrs.type === 'unavailable') {
      const known = room.occupants.get(nick);
      room.occupants.delete(nick);
      if (isSelf) room.joined = false;
      this.push({ kind: 'member', conversation: room.jid, member: known?.realJid ?? realJid ?? from, membership: 'leave', receivedAt });
      return;
    }
    const known = room.occupants.get(nick);
    room.occupants.set(nick, { nick, realJid: realJid ?? known?.realJid });
    if (!known) this.push({ kind: 'member', conversation: room.jid, member: realJid ?? from, membership: 'join', receivedAt });
    if (isSelf && !room.joined) {
      room.joined = true;
      const join = room.join;
      room.join = undefined;
      join?.resolve({ created: statuses.has('201') });
    }
  }

  // --- ChatClient -------------------------------------------------------------------------

  async openDirect(peerAddress: string): Promise<Conversation> {
    return { id: bare(peerAddress), kind: 'direct' };
  }

  async acceptDirect(fromAddress: string): Promise<Conversation> {
    // XMPP has nothing to accept: messages to a bare JID are delivered as they come.
    return { id: bare(fromAddress), kind: 'direct' };
  }

  private mucDomain(): string {
    return this.account.org.mucDomain ?? `conference.${this.account.org.domain}`;
  }

  private async join(roomJid: string): Promise<{ created: boolean }> {
    const existing = this.rooms.get(roomJid);
    if (existing?.joined) return { created: false };
    const nick = `${this.account.localpart}.${this.account.org.name}`;
    const room: RoomState = { jid: roomJid, nick, occupants: new Map(), joined: false };
    const joined = new Promise<{ created: boolean }>((resolve, reject) => { room.join = { resolve, reject }; });
    this.rooms.set(roomJid, room);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (room.join) this.rooms.delete(roomJid);
        reject(new ConformanceFailure(
          `${this.account.address} sent a join to ${roomJid}/${nick} and got no self-presence within ${defaultWaitMs} ms`
            + this.errorSummary(), this.transcript().join('\n')));
      }, defaultWaitMs);
    });
    try {
      await this.xmpp.send(xml('presence', { to: `${roomJid}/${nick}` }, xml('x', { xmlns: NS_MUC })));
      return await Promise.race([joined, timeout]);
    } finally {
      clearTimeout(timer);
      room.join = undefined;
    }
  }

  async createRoom(name: string): Promise<{ conversation: Conversation; ref: string }> {
    const node = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
    const roomJid = `${node}@${this.mucDomain()}`;
    const { created } = await this.join(roomJid);
    if (created) {
      const field = (name: string, value: string) => xml('field', { var: name }, xml('value', {}, value));
      try {
        await this.xmpp.iqCaller.request(xml('iq', { type: 'set', to: roomJid },
          xml('query', { xmlns: NS_MUC_OWNER },
            xml('x', { xmlns: NS_DATA, type: 'submit' },
              field('FORM_TYPE', 'http://jabber.org/protocol/muc#roomconfig'),
              field('muc#roomconfig_persistentroom', '1'),
              field('muc#roomconfig_publicroom', '1'),
              field('muc#roomconfig_whois', 'anyone')))), defaultWaitMs);
      } catch (error) {
        if (error instanceof Error && error.name === 'StanzaError') {
          throw new ConformanceFailure(`${this.account.address} created ${roomJid} but the server refused to make it persistent, `
            + `public and non-anonymous: ${error.message}`, this.transcript().join('\n'));
        }
        throw error;
      }
    }
    return { conversation: { id: roomJid, kind: 'room' }, ref: roomJid };
  }

  async joinRoom(ref: string): Promise<Conversation> {
    const roomJid = bare(ref);
    await this.join(roomJid);
    return { id: roomJid, kind: 'room' };
  }

  async send(conversation: Conversation, body: string): Promise<string> {
    const id = `fedconf-${randomUUID()}`;
    if (conversation.kind === 'room' && !this.rooms.get(conversation.id)?.joined) {
      throw new Error(`xmpp driver: ${this.account.address} has not joined ${conversation.id}`);
    }
    const type = conversation.kind === 'room' ? 'groupchat' : 'chat';
    await this.xmpp.send(xml('message', { type, to: conversation.id, id }, xml('body', {}, body)));
    return id;
  }

  waitFor(match: (event: ChatEvent) => boolean, options: WaitOptions): Promise<ChatEvent> {
    const found = this.events.find(match);
    if (found) return Promise.resolve(found);
    if (this.closing) return Promise.reject(new Error(`xmpp driver: ${this.account.address} is closed`));
    const timeoutMs = options.timeoutMs ?? defaultWaitMs;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new ConformanceFailure(this.timeoutMessage(options.description, Date.now() - started), this.transcript().join('\n')));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  private errorSummary(): string {
    return this.errors.length === 0 ? '' : `; error stanzas received: ${this.errors.join('; ')}`;
  }

  private timeoutMessage(description: string, waitedMs: number): string {
    const recent = this.events.slice(-8).map(describeEvent);
    const received = this.events.length === 0
      ? 'no chat events at all'
      : `${this.events.length} other event(s)${this.events.length > recent.length ? ', the last 8' : ''}: ${recent.join('; ')}`;
    const state = this.connectionState === 'online' ? '' : `; connection state: ${this.connectionState}`;
    return `${this.account.address} waited ${waitedMs} ms for ${description}; nothing matching arrived. `
      + `Received instead: ${received}${this.errorSummary()}${state}`;
  }

  messages(conversation: Conversation): Extract<ChatEvent, { kind: 'message' }>[] {
    return this.events.filter((e): e is Extract<ChatEvent, { kind: 'message' }> =>
      e.kind === 'message' && e.conversation === conversation.id);
  }

  async members(conversation: Conversation): Promise<string[]> {
    if (conversation.kind === 'direct') return [this.account.address, conversation.id];
    const room = this.rooms.get(conversation.id);
    if (!room?.joined) throw new Error(`xmpp driver: ${this.account.address} has not joined ${conversation.id}`);
    return [...room.occupants.values()].map((o) => o.realJid ?? `${room.jid}/${o.nick}`).sort();
  }

  transcript(): string[] {
    return [...this.log];
  }

  /** XEP-0092 software version of any entity (the server: its domain). */
  async softwareVersion(target: string): Promise<{ name: string; version: string; os?: string }> {
    const reply = await this.xmpp.iqCaller.request(xml('iq', { type: 'get', to: target }, xml('query', { xmlns: NS_VERSION })), defaultWaitMs);
    const query = reply.getChild('query', NS_VERSION);
    const name = query?.getChildText('name');
    const version = query?.getChildText('version');
    if (!name || !version) throw new Error(`xmpp driver: ${target} answered jabber:iq:version without name/version: ${abbreviate(reply)}`);
    return { name, version, os: query?.getChildText('os') ?? undefined };
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`xmpp driver: ${this.account.address} was closed while waiting`));
    }
    this.waiters.clear();
    this.xmpp.reconnect.stop();
    try {
      if (this.xmpp.status !== 'offline' && this.xmpp.status !== 'disconnect') await this.xmpp.stop();
    } catch (error) {
      this.note(`clean stop failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      const socket = this.xmpp.socket as { destroy?: () => void; socket?: { destroy?: () => void } } | null;
      socket?.socket?.destroy?.();
      socket?.destroy?.();
      this.xmpp.removeAllListeners();
      this.xmpp.on('error', () => {}); // late socket errors after close must not crash the worker
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.note('closing');
    await this.shutdown();
  }
}

async function connect(account: Account): Promise<ChatClient> {
  return XmppChatClient.open(account, { ca: labCa() });
}

/**
 * The software name and version the running server reports (XEP-0092), asked by a short-lived account
 * `fedconf-probe` that is deleted again afterwards.
 */
export async function xmppServerVersion(org: OrganisationDescription, caFile: string): Promise<{ name: string; version: string }> {
  const account = await provisionAccount(org, 'fedconf-probe');
  try {
    const session = await XmppChatClient.open(account, { ca: readFileSync(caFile), resource: 'probe' });
    try {
      return await session.softwareVersion(org.domain);
    } finally {
      await session.close();
    }
  } finally {
    await removeAccount(account);
  }
}

export const xmppDriver: ProtocolDriver = {
  protocol: 'xmpp',
  connect,
};
