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
 *
 * Message ids: send() puts the same value in the stanza's id and in a XEP-0359 <origin-id/> and returns it.
 * A received message's id is, in a room, the <stanza-id by=room/> the MUC assigned (XEP-0359) when there is
 * one, else the stanza's id attribute. References to earlier messages follow each XEP's rule (see referenceId()),
 * and a receiving client maps whatever id arrives back to the message it saw, so `target`/`thread` in events
 * are ids of message events this client received.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { lookup as systemLookup } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { client, jid as parseJid, xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { provisionAccount, removeAccount } from '../provisioning/index.ts';
import { ConformanceFailure } from '../verdict/failure.ts';
import type { OrganisationDescription } from '../lab/types.ts';
import {
  defaultWaitMs,
  GuestRefused,
  type RoomOptions,
  type DirectoryAnswer,
  type Account,
  type ChatClient,
  type Availability,
  type ChatEvent,
  type Conversation,
  type FileEvent,
  type FileToShare,
  type MessageEvent,
  type Profile,
  type ProtocolDriver,
  type SendOptions,
  type ReadPathAnswer,
  type SentMessage,
  type WaitOptions,
} from './driver.ts';

const NS_MUC = 'http://jabber.org/protocol/muc';
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
export const NS_DATA = 'jabber:x:data';
const NS_VERSION = 'jabber:iq:version';
const NS_SEARCH = 'jabber:iq:search';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_SID = 'urn:xmpp:sid:0';
const NS_CORRECT = 'urn:xmpp:message-correct:0';
const NS_RETRACT = 'urn:xmpp:message-retract:1';
const NS_FALLBACK = 'urn:xmpp:fallback:0';
const NS_REACTIONS = 'urn:xmpp:reactions:0';
const NS_REFERENCE = 'urn:xmpp:reference:0';
export const NS_HINTS = 'urn:xmpp:hints';
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const NS_UPLOAD = 'urn:xmpp:http:upload:0';
const NS_OOB = 'jabber:x:oob';
const NS_VCARD = 'vcard-temp';
const NS_MAM = 'urn:xmpp:mam:2';
const NS_FORWARD = 'urn:xmpp:forward:0';

const connectTimeoutMs = 15_000;
/** How long invite() waits for a room to bounce a mediated invitation. */
const inviteRefusalWaitMs = 2_000;
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

let labDnsAddress: string | undefined;

/** The lab DNS that resolves host names in HTTP upload URLs (upload.org-a.test); absent: the system resolver. */
export function useLabDns(address: string | undefined): void {
  labDnsAddress = address;
}

let httpsAgent: Agent | undefined;

/**
 * The HTTP client for XEP-0363 uploads and downloads: the lab CA as the only trust anchor and, in a lab with its
 * own DNS, host names resolved there only (never by the machine's resolver).
 */
function fileAgent(): Agent {
  if (httpsAgent) return httpsAgent;
  const dns = labDnsAddress;
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  if (dns) resolver.setServers([dns]);
  type LookupCallback = (error: Error | null, addresses: Array<{ address: string; family: number }>) => void;
  const lookup = (hostname: string, options: object, callback: LookupCallback): void => {
    if (!dns) {
      systemLookup(hostname, { ...options, all: true }, (error, addresses) => callback(error, addresses ?? []));
      return;
    }
    resolver.resolve4(hostname).then((found) => callback(null, found.map((address) => ({ address, family: 4 }))),
      (error: Error) => callback(new Error(`the lab DNS ${dns} does not resolve ${hostname}: ${error.message}`), []));
  };
  httpsAgent = new Agent({ connect: { ca: labCa(), lookup: lookup as never } });
  return httpsAgent;
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
    case 'edit':
      return `edit in ${event.conversation} from ${event.sender} of ${event.target}: ${JSON.stringify(event.body)}`;
    case 'retraction':
      return `retraction in ${event.conversation} from ${event.sender} of ${event.target}`;
    case 'reaction':
      return `reaction in ${event.conversation} from ${event.sender} to ${event.target}: ${JSON.stringify(event.key)}`;
    case 'file':
      return `file in ${event.conversation} from ${event.sender}: ${JSON.stringify(event.name)} ${event.url}`;
    case 'presence':
      return `presence from ${event.sender}: ${event.wire}${event.status !== undefined ? ` ${JSON.stringify(event.status)}` : ''}`;
    case 'contact-request':
      return `subscription request from ${event.sender}`;
  }
}

/** The ids one message carried on the wire: its id attribute, XEP-0359 origin-id and the room's stanza-id. */
interface WireIds {
  idAttr?: string;
  originId?: string;
  stanzaId?: string;
  /** XEP-0201 ThreadID the message carried. */
  thread?: string;
  /** Sent by this client. */
  own?: boolean;
  /** Own room message: the MUC's reflection of it has arrived (so stanzaId is known if the MUC assigns one). */
  reflected?: boolean;
}

interface Occupant {
  nick: string;
  realJid?: string;
  /** The attributes of the muc#user <item/> of the occupant's latest presence (jid, affiliation, role). */
  item?: Record<string, string>;
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
  /** Log in as a guest: SASL ANONYMOUS (RFC 4505, XEP-0175) on account.org's guest host; the server names the JID. */
  anonymous?: boolean;
}

class XmppChatClient implements ChatClient {
  private readonly events: ChatEvent[] = [];
  private readonly errors: string[] = [];
  private readonly log: string[] = [];
  private readonly rooms = new Map<string, RoomState>();
  private readonly waiters = new Set<Waiter>();
  /** Per conversation: the wire ids of every message sent or received, under the id this client knows it by. */
  private readonly wire = new Map<string, Map<string, WireIds>>();
  private closing = false;
  private connectionState = 'not connected';

  private constructor(readonly account: Account, readonly xmpp: Client) {}

  static async open(account: Account, options: SessionOptions): Promise<XmppChatClient> {
    await installLabTrust();
    const xmpp = client({
      service: clientService(account.org),
      domain: options.anonymous ? account.org.guestDomain ?? account.org.domain : account.org.domain,
      ...(options.anonymous ? {} : { username: account.localpart }),
      // PLAIN inside the verified TLS channel. xmpp.js computes SCRAM's PBKDF2 with one WebCrypto call per
      // iteration, about 2 s per login against Prosody's 10 000 iterations; without TLS PLAIN is never offered.
      credentials: async (authenticate, mechanisms, _fast, entity) => {
        if (options.anonymous) {
          if (!mechanisms.includes('ANONYMOUS')) throw new GuestRefused(`the guest host offers no SASL ANONYMOUS (offered: ${mechanisms.join(', ')})`);
          await authenticate({}, 'ANONYMOUS', xml('user-agent', { id: randomUUID() }));
          return;
        }
        const mechanism = entity.isSecure() && mechanisms.includes('PLAIN') ? 'PLAIN' : mechanisms.find((m) => m !== 'PLAIN');
        if (!mechanism) throw new Error(`no usable SASL mechanism among ${mechanisms.join(', ')}`);
        await authenticate({ username: account.localpart, password: account.password }, mechanism, xml('user-agent', { id: randomUUID() }));
      },
      resource: options.resource ?? `fedconf-${randomBytes(4).toString('hex')}`,
    });
    xmpp.reconnect.stop(); // a dropped session is evidence, not something to paper over
    // RFC 6121 §2.1.6: a client acknowledges a roster push (sent when a presence subscription changes).
    xmpp.iqCallee.set('jabber:iq:roster', 'query', () => true);
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
      if (options.anonymous && isGuestRefusal(error)) {
        throw new GuestRefused(`${account.org.guestDomain ?? account.org.domain} refused the guest: ${(error as Error).message}`);
      }
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
    if (options.anonymous && xmpp.jid) {
      // The server chose the guest's JID; from now on the guest is known by it.
      account.address = xmpp.jid.bare().toString();
      account.localpart = xmpp.jid.local;
    }
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
    if (!from) return;
    const body = stanza.getChildText('body');
    const fromJid = parseJid(from);
    const fromBare = fromJid.bare().toString();
    const idAttr: string = stanza.attrs.id ?? '';
    const receivedAt = Date.now();
    const room = this.rooms.get(fromBare);
    let sender: string;
    if (type === 'groupchat') {
      if (!room) return;
      const nick = fromJid.resource;
      sender = !nick ? fromBare : room.occupants.get(nick)?.realJid ?? from;
    } else if (!room && (type === 'chat' || type === 'normal')) {
      sender = fromBare;
    } else {
      return;
    }
    const conversation = fromBare;
    const ids: WireIds = { idAttr: idAttr || undefined, originId: stanza.getChild('origin-id', NS_SID)?.attrs.id };
    if (type === 'groupchat') {
      ids.stanzaId = stanza.getChildren('stanza-id', NS_SID).find((e) => e.attrs.by === fromBare)?.attrs.id;
    }

    // XEP-0424 retraction (may carry a fallback body, so before the body check).
    const retract = stanza.getChild('retract', NS_RETRACT);
    if (retract?.attrs.id) {
      this.push({ kind: 'retraction', conversation, sender, target: this.resolve(conversation, String(retract.attrs.id)), receivedAt });
      return;
    }
    // XEP-0444 reactions: one event per reaction element.
    const reactions = stanza.getChild('reactions', NS_REACTIONS);
    if (reactions?.attrs.id) {
      const target = this.resolve(conversation, String(reactions.attrs.id));
      for (const reaction of reactions.getChildren('reaction')) {
        this.push({ kind: 'reaction', conversation, sender, target, key: reaction.text(), receivedAt });
      }
      return;
    }
    // XEP-0066 out-of-band data: a shared file (XEP-0363 §3: the GET URL is sent this way).
    const oobUrl = stanza.getChild('x', NS_OOB)?.getChildText('url');
    if (oobUrl) {
      const neutral = ids.stanzaId ?? idAttr;
      this.remember(conversation, neutral, ids);
      this.push({ kind: 'file', conversation, sender, name: fileNameOf(oobUrl), url: oobUrl, id: neutral, receivedAt });
      return;
    }
    if (body === null) return;
    // XEP-0308 correction.
    const replace = stanza.getChild('replace', NS_CORRECT);
    const ownReflection = room !== undefined && fromJid.resource === room.nick;
    const neutralId = ids.stanzaId ?? idAttr;
    if (replace?.attrs.id) {
      this.push({ kind: 'edit', conversation, sender, target: this.resolve(conversation, String(replace.attrs.id)), body, id: neutralId, receivedAt });
      return;
    }
    const thread = stanza.getChildText('thread') || undefined;
    ids.thread = thread;
    // The MUC's reflection of one's own message: the message stays known by the id send() returned.
    const sent = ownReflection ? this.findWire(conversation, ids.originId ?? '') ?? this.findWire(conversation, idAttr) : undefined;
    if (sent?.own) Object.assign(sent, { stanzaId: ids.stanzaId, thread: sent.thread ?? thread, reflected: true });
    else this.remember(conversation, neutralId, ids);
    const message: MessageEvent = { kind: 'message', conversation, sender, body, id: neutralId, receivedAt };
    const mentions = stanza.getChildren('reference', NS_REFERENCE)
      .filter((r) => r.attrs.type === 'mention' && typeof r.attrs.uri === 'string' && String(r.attrs.uri).startsWith('xmpp:'))
      .map((r) => bare(decodeURIComponent(String(r.attrs.uri).slice('xmpp:'.length).split('?')[0] ?? '')));
    if (mentions.length > 0) message.mentions = mentions;
    if (thread) message.thread = this.resolveThread(conversation, thread, neutralId);
    this.push(message);
  }

  private remember(conversation: string, id: string, ids: WireIds): void {
    if (!id) return;
    let known = this.wire.get(conversation);
    if (!known) this.wire.set(conversation, known = new Map());
    if (!known.has(id)) known.set(id, ids);
  }

  /** The wire ids of the message known (sent or received) under `id` or carrying `id` in any of its ids. */
  private findWire(conversation: string, id: string): WireIds | undefined {
    if (!id) return undefined;
    const known = this.wire.get(conversation);
    if (!known) return undefined;
    const direct = known.get(id);
    if (direct) return direct;
    for (const ids of known.values()) if (ids.idAttr === id || ids.originId === id || ids.stanzaId === id) return ids;
    return undefined;
  }

  /**
   * The root message of a thread: the message whose reference id the ThreadID is (this driver's convention,
   * see send()), else the first message known to carry that ThreadID (other than `self`), else the ThreadID.
   */
  private resolveThread(conversation: string, thread: string, self: string): string {
    const byId = this.resolve(conversation, thread);
    if (byId !== thread || this.wire.get(conversation)?.has(thread)) return byId;
    for (const [neutral, ids] of this.wire.get(conversation) ?? []) if (neutral !== self && ids.thread === thread) return neutral;
    return thread;
  }

  /** Maps an id that arrived in a reference to the id this client knows the message by (itself when unknown). */
  private resolve(conversation: string, id: string): string {
    const known = this.wire.get(conversation);
    if (!known || known.has(id)) return id;
    for (const [neutral, ids] of known) if (ids.idAttr === id || ids.originId === id || ids.stanzaId === id) return neutral;
    return id;
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
    if (!room) {
      this.onContactPresence(stanza, fromJid.bare().toString());
      return;
    }
    const x = stanza.getChild('x', NS_MUC_USER);
    if (!x) return;
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
    room.occupants.set(nick, { nick, realJid: realJid ?? known?.realJid, item: item ? { ...item.attrs } as Record<string, string> : known?.item });
    if (!known) this.push({ kind: 'member', conversation: room.jid, member: realJid ?? from, membership: 'join', receivedAt });
    if (isSelf && !room.joined) {
      room.joined = true;
      const join = room.join;
      room.join = undefined;
      join?.resolve({ created: statuses.has('201') });
    }
  }

  /** Presence of a contact (RFC 6121 §4) or a subscription request (§3.1.3); other subscription states are roster bookkeeping. */
  private onContactPresence(stanza: Element, sender: string): void {
    if (sender === bare(this.account.address)) return; // own presence, reflected to this session
    const type: string | undefined = stanza.attrs.type;
    const receivedAt = Date.now();
    if (type === 'subscribe') {
      this.push({ kind: 'contact-request', conversation: sender, sender, receivedAt });
      return;
    }
    if (type !== undefined && type !== 'unavailable') return;
    // RFC 6121 §4.7.2.1: no <show/> (or "chat") is available; away, xa and dnd are all "not available now".
    const show = stanza.getChildText('show') ?? undefined;
    const status = stanza.getChildText('status') || undefined;
    const availability: Availability = type === 'unavailable' ? 'offline' : !show || show === 'chat' ? 'available' : 'busy';
    this.push({ kind: 'presence', conversation: sender, sender, availability, ...(status ? { status } : {}), wire: type ?? show ?? '(no show)', receivedAt });
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

  async createRoom(name: string, options?: RoomOptions): Promise<{ conversation: Conversation; ref: string }> {
    const node = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
    const roomJid = `${node}@${this.mucDomain()}`;
    const { created } = await this.join(roomJid);
    if (created) {
      const field = (name: string, value: string) => xml('field', { var: name }, xml('value', {}, value));
      // A room without the field is configured without it; whether newcomers then see history is for the scenario to observe.
      const limitHistory = options?.history === 'joined' && await this.offersConfigField(roomJid, 'muc#roomconfig_historylength');
      try {
        await this.xmpp.iqCaller.request(xml('iq', { type: 'set', to: roomJid },
          xml('query', { xmlns: NS_MUC_OWNER },
            xml('x', { xmlns: NS_DATA, type: 'submit' },
              field('FORM_TYPE', 'http://jabber.org/protocol/muc#roomconfig'),
              field('muc#roomconfig_persistentroom', '1'),
              field('muc#roomconfig_publicroom', '1'),
              field('muc#roomconfig_whois', 'anyone'),
              // XEP-0045 §10.2: a members-only room admits only users with an affiliation, so no guest.
              ...(options?.guests === undefined ? [] : [field('muc#roomconfig_membersonly', options.guests ? '0' : '1')]),
              // The number of past messages the room sends to someone joining (XEP-0045 §7.2.15 "Discussion History").
              ...(limitHistory ? [field('muc#roomconfig_historylength', '0')] : [])))), defaultWaitMs);
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

  /**
   * XEP-0045 §7.8.2 "Mediated Invitation": the invitation goes to the room, which forwards it; a room that refuses
   * answers with a message of type error (not-allowed / forbidden), which is awaited briefly.
   */
  async invite(conversation: Conversation, address: string): Promise<void> {
    const id = `fedconf-${randomUUID()}`;
    const refused = new Promise<Element | undefined>((resolve) => {
      const timer = setTimeout(() => { this.xmpp.removeListener('stanza', onStanza); resolve(undefined); }, inviteRefusalWaitMs);
      const onStanza = (stanza: Element) => {
        if (!stanza.is('message') || stanza.attrs.type !== 'error' || stanza.attrs.id !== id) return;
        clearTimeout(timer);
        this.xmpp.removeListener('stanza', onStanza);
        resolve(stanza);
      };
      this.xmpp.on('stanza', onStanza);
    });
    await this.xmpp.send(xml('message', { to: conversation.id, id }, xml('x', { xmlns: NS_MUC_USER }, xml('invite', { to: bare(address) }))));
    const error = await refused;
    if (error) {
      const condition = error.getChild('error')?.children.find((c): c is Element => typeof c !== 'string')?.name ?? 'unknown';
      throw new ConformanceFailure(`${this.account.address} could not invite ${address} to ${conversation.id}: the room answered ${condition}`, this.transcript().join('\n'));
    }
  }

  /** Whether the room's configuration form (XEP-0045 §10.1.3) offers `variable`; a missing one is noted. */
  private async offersConfigField(roomJid: string, variable: string): Promise<boolean> {
    const form = await this.xmpp.iqCaller.request(xml('iq', { type: 'get', to: roomJid }, xml('query', { xmlns: NS_MUC_OWNER })), defaultWaitMs);
    const fields = form.getChild('query', NS_MUC_OWNER)?.getChild('x', NS_DATA)?.getChildren('field').map((f: Element) => String(f.attrs.var)) ?? [];
    if (!fields.includes(variable)) this.note(`${roomJid}'s configuration form offers no ${variable} (fields: ${fields.join(', ')})`);
    return fields.includes(variable);
  }

  async joinRoom(ref: string): Promise<Conversation> {
    const roomJid = bare(ref);
    await this.join(roomJid);
    return { id: roomJid, kind: 'room' };
  }

  async send(conversation: Conversation, body: string, options?: SendOptions): Promise<string> {
    const extra: Element[] = [];
    for (const address of options?.mentions ?? []) {
      // XEP-0372 §3.2 "Mentions": a reference of type 'mention' with the mentioned entity's xmpp: URI and,
      // when the body names it, begin/end (character positions; the end is exclusive).
      const start = indexOfCodePoints(Array.from(body), Array.from(address));
      const position = start < 0 ? {} : { begin: String(start), end: String(start + Array.from(address).length) };
      extra.push(xml('reference', { xmlns: NS_REFERENCE, type: 'mention', uri: `xmpp:${bare(address)}`, ...position }));
    }
    if (options?.threadRoot) {
      // XEP-0201 §3.2: a reply SHOULD carry the ThreadID of the message it replies to. When the root carried
      // none, this driver names the thread after the root's reference id (the room's stanza-id in a MUC), so
      // a receiver can tie the reply to the root it saw.
      const rootThread = this.findWire(conversation.id, options.threadRoot)?.thread;
      extra.push(xml('thread', {}, rootThread ?? await this.referenceId(conversation, options.threadRoot, 'stanza-id')));
    }
    return this.sendMessage(conversation, [xml('body', {}, body), ...extra]);
  }

  /** Sends a message with these children plus a XEP-0359 origin-id equal to its id; resolves with that id. */
  private async sendMessage(conversation: Conversation, children: Element[]): Promise<string> {
    const id = `fedconf-${randomUUID()}`;
    if (conversation.kind === 'room' && !this.rooms.get(conversation.id)?.joined) {
      throw new Error(`xmpp driver: ${this.account.address} has not joined ${conversation.id}`);
    }
    const type = conversation.kind === 'room' ? 'groupchat' : 'chat';
    // XEP-0424 "Business Rules": clients MUST set the XEP-0359 origin id on sent messages.
    this.remember(conversation.id, id, { idAttr: id, originId: id, own: true });
    await this.xmpp.send(xml('message', { type, to: conversation.id, id }, ...children, xml('origin-id', { xmlns: NS_SID, id })));
    return id;
  }

  /**
   * The id another participant's client knows `messageId` by, per the XEP that refers to it:
   * - 'id' (XEP-0308 §3): the id attribute of the message being corrected.
   * - 'stanza-id' (XEP-0424 §3, XEP-0444 §3): in a groupchat the XEP-0359 stanza-id the MUC assigned; in a
   *   1:1 chat the origin-id (XEP-0424) / the message id (XEP-0444), which send() makes equal.
   * For one's own room message that is the stanza-id in the MUC's reflection, so this waits for it; a MUC
   * that assigns none (e.g. Prosody without muc_mam) leaves the id attribute, which the MUC keeps
   * (XEP-0045 §7.4 stable ids) and peers can match.
   */
  private async referenceId(conversation: Conversation, messageId: string, rule: 'id' | 'stanza-id'): Promise<string> {
    const ids = this.findWire(conversation.id, messageId);
    if (!ids) return messageId;
    if (rule === 'id') return ids.idAttr ?? messageId;
    if (conversation.kind !== 'room') return ids.originId ?? ids.idAttr ?? messageId;
    if (ids.own && !ids.reflected && !ids.stanzaId) {
      await this.waitFor((e) => e.kind === 'message' && e.conversation === conversation.id && ids.reflected === true, {
        description: `the MUC's reflection of ${this.account.address}'s own message ${messageId} (XEP-0045 §7.4), to learn its stanza-id`,
      });
    }
    return ids.stanzaId ?? ids.idAttr ?? messageId;
  }

  async edit(conversation: Conversation, messageId: string, newBody: string): Promise<string> {
    const target = await this.referenceId(conversation, messageId, 'id');
    return this.sendMessage(conversation, [xml('body', {}, newBody), xml('replace', { xmlns: NS_CORRECT, id: target })]);
  }

  async retract(conversation: Conversation, messageId: string): Promise<void> {
    const target = await this.referenceId(conversation, messageId, 'stanza-id');
    // XEP-0424 §3: <retract/>, a XEP-0428 fallback body for clients without support, and a XEP-0334 store hint.
    await this.sendMessage(conversation, [
      xml('retract', { xmlns: NS_RETRACT, id: target }),
      xml('fallback', { xmlns: NS_FALLBACK, for: NS_RETRACT }),
      xml('body', {}, '/me retracted a previous message, but it\'s unsupported by your client.'),
      xml('store', { xmlns: NS_HINTS }),
    ]);
  }

  async react(conversation: Conversation, messageId: string, key: string): Promise<string> {
    const target = await this.referenceId(conversation, messageId, 'stanza-id');
    return this.sendMessage(conversation, [
      xml('reactions', { xmlns: NS_REACTIONS, id: target }, xml('reaction', {}, key)),
      xml('store', { xmlns: NS_HINTS }),
    ]);
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

  messages(conversation: Conversation): MessageEvent[] {
    return this.events.filter((e): e is MessageEvent =>
      e.kind === 'message' && e.conversation === conversation.id);
  }

  // Presence: the roster subscription of RFC 6121 §3, then broadcast presence (§4.2, §4.4).
  async requestPresence(peerAddress: string): Promise<void> {
    await this.xmpp.send(xml('presence', { to: bare(peerAddress), type: 'subscribe' }));
  }

  async approvePresence(fromAddress: string, options?: Partial<WaitOptions>): Promise<void> {
    const from = bare(fromAddress);
    await this.waitFor((e) => e.kind === 'contact-request' && e.sender === from,
      { description: options?.description ?? `${from}'s request to see ${this.account.address}'s presence (RFC 6121 §3.1.3)`, timeoutMs: options?.timeoutMs });
    await this.xmpp.send(xml('presence', { to: from, type: 'subscribed' }));
  }

  async setPresence(availability: Exclude<Availability, 'offline'>, status?: string): Promise<void> {
    // RFC 6121 §4.7.2.1: <show>dnd</show> is "busy"; no <show/> is available.
    await this.xmpp.send(xml('presence', {}, ...(availability === 'busy' ? [xml('show', {}, 'dnd')] : []), ...(status !== undefined ? [xml('status', {}, status)] : [])));
  }

  /** A MUC has no history query here (no MAM assumed): the room's order is the order it delivered to this session. */
  async history(conversation: Conversation): Promise<MessageEvent[]> {
    return this.messages(conversation);
  }

  /**
   * RET-*: XEP-0313 (Message Archive Management) §4: the archive's messages, queried from the room's archive (MUC)
   * or this user's own archive filtered by the peer (§4.1.1 "with"); matched by body (ids differ per archive).
   */
  async readBack(conversation: Conversation, messages: SentMessage[]): Promise<ReadPathAnswer[]> {
    const queryid = randomUUID();
    const bodies: string[] = [];
    const onStanza = (stanza: Element): void => {
      const result = stanza.is('message') ? stanza.getChild('result', NS_MAM) : undefined;
      if (result?.attrs.queryid !== queryid) return;
      const body = result.getChild('forwarded', NS_FORWARD)?.getChild('message')?.getChildText('body');
      if (typeof body === 'string') bodies.push(body);
    };
    const room = conversation.kind === 'room';
    const form = room ? [] : [xml('x', { xmlns: NS_DATA, type: 'submit' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS_MAM)),
      xml('field', { var: 'with' }, xml('value', {}, bare(conversation.id))))];
    this.xmpp.on('stanza', onStanza);
    try {
      await this.xmpp.iqCaller.request(xml('iq', { type: 'set', ...(room ? { to: conversation.id } : {}) },
        xml('query', { xmlns: NS_MAM, queryid }, ...form, xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '500')))), defaultWaitMs);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      this.note(`MAM query on ${room ? conversation.id : 'own archive'} refused: ${text}`);
      throw new ConformanceFailure(`${this.account.address} could not query the archive of ${conversation.id} (XEP-0313): ${text}`, this.transcript().join('\n'));
    } finally {
      this.xmpp.removeListener('stanza', onStanza);
    }
    const path = `XEP-0313 MAM query (${room ? 'room archive' : 'own archive'})`;
    const readable = messages.filter((m) => bodies.includes(m.body)).map((m) => m.id);
    this.note(`read back ${messages.length} message(s): ${path} → ${readable.length} (archive holds ${bodies.length})`);
    return [{ path, readable }];
  }

  async members(conversation: Conversation): Promise<string[]> {
    if (conversation.kind === 'direct') return [this.account.address, conversation.id];
    const room = this.rooms.get(conversation.id);
    if (!room?.joined) throw new Error(`xmpp driver: ${this.account.address} has not joined ${conversation.id}`);
    return [...room.occupants.values()].map((o) => o.realJid ?? `${room.jid}/${o.nick}`).sort();
  }

  async memberRecord(conversation: Conversation, address: string): Promise<Record<string, unknown> | undefined> {
    const room = this.rooms.get(conversation.id);
    if (!room?.joined) throw new Error(`xmpp driver: ${this.account.address} has not joined ${conversation.id}`);
    const occupant = [...room.occupants.values()].find((o) => o.realJid === bare(address) || `${room.jid}/${o.nick}` === address);
    return occupant ? { occupant: `${room.jid}/${occupant.nick}`, ...occupant.item } : undefined;
  }

  transcript(): string[] {
    return [...this.log];
  }

  // --- Files and profiles (FED-FILE, FED-DIRECTORY) ----------------------------------------

  private uploadService?: string;

  /** XEP-0030: the first of `hosts`, or of the items they list in disco#items, whose disco#info has `feature`. */
  private async findService(hosts: string[], feature: string): Promise<{ service?: string; checked: string[] }> {
    const checked = [...hosts];
    for (const host of hosts) {
      const items = await this.xmpp.iqCaller.request(xml('iq', { type: 'get', to: host }, xml('query', { xmlns: NS_DISCO_ITEMS })), defaultWaitMs).catch(() => undefined);
      checked.push(...(items?.getChild('query', NS_DISCO_ITEMS)?.getChildren('item') ?? []).map((i: Element) => String(i.attrs.jid)));
    }
    for (const jid of checked) {
      const info = await this.xmpp.iqCaller.request(xml('iq', { type: 'get', to: jid }, xml('query', { xmlns: NS_DISCO_INFO })), defaultWaitMs).catch(() => undefined);
      if (info?.getChild('query', NS_DISCO_INFO)?.getChildren('feature').some((f: Element) => f.attrs.var === feature)) return { service: jid, checked };
    }
    return { checked };
  }

  /** XEP-0363 §2 "Discovering Support": an item of one's own server whose disco#info has urn:xmpp:http:upload:0. */
  private async findUploadService(): Promise<string> {
    if (this.uploadService) return this.uploadService;
    const domain = this.account.org.domain;
    const { service, checked } = await this.findService([domain], NS_UPLOAD);
    if (service) return (this.uploadService = service);
    throw new ConformanceFailure(`${domain} offers no XEP-0363 HTTP File Upload service: none of ${checked.join(', ')} `
      + `lists the feature ${NS_UPLOAD} in disco#info (XEP-0363 §2)`, this.transcript().join('\n'));
  }

  async shareFile(conversation: Conversation, file: FileToShare): Promise<string> {
    const service = await this.findUploadService();
    // XEP-0363 §4 "Requesting a slot": filename, size and content-type; the answer has a PUT and a GET URL.
    let slot: Element | undefined;
    try {
      const reply = await this.xmpp.iqCaller.request(xml('iq', { type: 'get', to: service },
        xml('request', { xmlns: NS_UPLOAD, filename: file.name, size: String(file.data.length), 'content-type': file.mimeType })), defaultWaitMs);
      slot = reply.getChild('slot', NS_UPLOAD);
    } catch (error) {
      throw this.refusal(`get an upload slot from ${service}`, error);
    }
    const putUrl = slot?.getChild('put')?.attrs.url as string | undefined;
    const getUrl = slot?.getChild('get')?.attrs.url as string | undefined;
    if (!putUrl || !getUrl) {
      throw new ConformanceFailure(`${service} answered the slot request without a put and a get URL (XEP-0363 §4)`, this.transcript().join('\n'));
    }
    // XEP-0363 §4: only Authorization, Cookie and Expires headers from the slot are passed on.
    const headers: Record<string, string> = { 'content-type': file.mimeType, 'content-length': String(file.data.length) };
    for (const header of slot?.getChild('put')?.getChildren('header') ?? []) {
      const name = String(header.attrs.name ?? '');
      if (/^(authorization|cookie|expires)$/i.test(name)) headers[name] = header.text().replace(/[\r\n]/g, '');
    }
    const put = await request(putUrl, { method: 'PUT', headers, body: Buffer.from(file.data), dispatcher: fileAgent(), headersTimeout: 60_000, bodyTimeout: 60_000 });
    const answer = (await put.body.text()).slice(0, 300);
    this.note(`PUT ${putUrl} (${file.data.length} bytes) → HTTP ${put.statusCode}`);
    if (put.statusCode < 200 || put.statusCode >= 300) {
      throw new ConformanceFailure(`${this.account.address}: the upload to ${putUrl} answered HTTP ${put.statusCode} (XEP-0363 §5: 201 Created): ${answer}`,
        this.transcript().join('\n'));
    }
    return this.sendMessage(conversation, [xml('body', {}, getUrl), xml('x', { xmlns: NS_OOB }, xml('url', {}, getUrl))]);
  }

  async downloadFile(file: FileEvent): Promise<Uint8Array> {
    const response = await request(file.url, { method: 'GET', dispatcher: fileAgent(), headersTimeout: 60_000, bodyTimeout: 60_000 });
    const data = new Uint8Array(await response.body.arrayBuffer());
    this.note(`GET ${file.url} → HTTP ${response.statusCode}, ${data.length} bytes`);
    if (response.statusCode !== 200) {
      throw new ConformanceFailure(`${this.account.address} could not download ${file.url}: HTTP ${response.statusCode}: `
        + `${Buffer.from(data).toString('utf8').slice(0, 300)}`, this.transcript().join('\n'));
    }
    return data;
  }

  async setDisplayName(name: string): Promise<void> {
    // XEP-0054 §3.2: the user publishes their own vCard with an IQ set to their bare JID (no 'to').
    try {
      await this.xmpp.iqCaller.request(xml('iq', { type: 'set' },
        xml('vCard', { xmlns: NS_VCARD }, xml('FN', {}, name), xml('NICKNAME', {}, name))), defaultWaitMs);
    } catch (error) {
      throw this.refusal('publish its vCard', error);
    }
  }

  async lookupProfile(address: string): Promise<Profile> {
    // XEP-0054 §3.3: an IQ get to the other user's bare JID, answered by their server (here across s2s).
    let reply: Element;
    try {
      reply = await this.xmpp.iqCaller.request(xml('iq', { type: 'get', to: bare(address) }, xml('vCard', { xmlns: NS_VCARD })), defaultWaitMs);
    } catch (error) {
      if (error instanceof Error && (error as { condition?: string }).condition === 'item-not-found') return {};
      throw this.refusal(`look up the vCard of ${address}`, error);
    }
    const vcard = reply.getChild('vCard', NS_VCARD);
    const displayName = vcard?.getChildText('FN') || vcard?.getChildText('NICKNAME') || undefined;
    return displayName ? { displayName } : {};
  }

  /** An error answer (or no answer) from the servers as a ConformanceFailure; anything else as is. */
  private refusal(what: string, error: unknown): Error {
    if (error instanceof Error && (error.name === 'StanzaError' || error.name === 'TimeoutError')) {
      return new ConformanceFailure(`${this.account.address} could not ${what}: ${error.name} ${error.message}`, this.transcript().join('\n'));
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  /** XEP-0055 §2: find a search service among the server's disco#items and search it by the `nick` field. */
  async searchDirectory(term: string): Promise<DirectoryAnswer> {
    // The organisation's directory: services listed by its own domain and by the host this user is on (a guest's).
    const domain = this.account.org.domain;
    const { service, checked: jids } = await this.findService([...new Set([this.account.address.split('@')[1] ?? domain, domain])], NS_SEARCH);
    if (!service) {
      this.note(`no ${NS_SEARCH} service among ${jids.join(', ')}`);
      return { offered: false, why: `${domain} lists no ${NS_SEARCH} service (checked ${jids.join(', ')})` };
    }
    try {
      const reply = await this.xmpp.iqCaller.request(xml('iq', { type: 'set', to: service }, xml('query', { xmlns: NS_SEARCH }, xml('nick', {}, term))), defaultWaitMs);
      const found = (reply.getChild('query', NS_SEARCH)?.getChildren('item') ?? []).map((i: Element) => String(i.attrs.jid));
      return { offered: true, found };
    } catch (error) {
      if (error instanceof Error && error.name === 'StanzaError') {
        throw new ConformanceFailure(`${this.account.address} could not search ${service}: ${error.message}`, this.transcript().join('\n'));
      }
      throw error;
    }
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

  /** XEP-0030 disco#info of an entity: its identities (`category/type`) and feature vars. */
  async discoInfo(target: string): Promise<{ identities: string[]; features: string[] }> {
    const reply = await this.xmpp.iqCaller.request(xml('iq', { type: 'get', to: target }, xml('query', { xmlns: NS_DISCO_INFO })), defaultWaitMs);
    const query = reply.getChild('query', NS_DISCO_INFO);
    return {
      identities: (query?.getChildren('identity') ?? []).map((i: Element) => `${i.attrs.category}/${i.attrs.type}`),
      features: (query?.getChildren('feature') ?? []).map((f: Element) => String(f.attrs.var)),
    };
  }

  /** XEP-0030 disco#items of an entity (of a server: its components). */
  async discoItems(target: string): Promise<string[]> {
    const reply = await this.xmpp.iqCaller.request(xml('iq', { type: 'get', to: target }, xml('query', { xmlns: NS_DISCO_ITEMS })), defaultWaitMs);
    return (reply.getChild('query', NS_DISCO_ITEMS)?.getChildren('item') ?? []).map((i: Element) => String(i.attrs.jid));
  }

  /** Whether the session runs over TLS (STARTTLS done). */
  get secure(): boolean {
    return (this.xmpp as unknown as { isSecure(): boolean }).isSecure();
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

/** The file name an upload URL carries in its last path segment (XEP-0363 servers put it there). */
function fileNameOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '');
  } catch {
    return '';
  }
}

/** Position (in code points) of `needle` in `haystack`, or -1. */
function indexOfCodePoints(haystack: string[], needle: string[]): number {
  if (needle.length === 0) return -1;
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

async function connect(account: Account): Promise<ChatClient> {
  return XmppChatClient.open(account, { ca: labCa() });
}

/** A guest session on the organisation's SASL ANONYMOUS host (its guestDomain). */
async function connectGuest(org: OrganisationDescription): Promise<ChatClient> {
  if (!org.guestDomain) throw new GuestRefused(`${org.domain} declares no guest (SASL ANONYMOUS) host`);
  return XmppChatClient.open({ address: `guest@${org.guestDomain}`, localpart: 'guest', password: '', org }, { ca: labCa(), anonymous: true });
}

/** The server's answer to a guest login attempt: no such host, or SASL refused — not a connection failure. */
function isGuestRefusal(error: unknown): boolean {
  if (error instanceof GuestRefused) return true;
  const condition = (error as { condition?: string } | undefined)?.condition;
  return ['host-unknown', 'not-authorized', 'invalid-mechanism', 'mechanism-too-weak', 'policy-violation'].includes(condition ?? '');
}

/**
 * The software name and version the running server reports (XEP-0092), asked by a short-lived account
 * `fedconf-probe` that is deleted again afterwards.
 */
export async function xmppServerVersion(org: OrganisationDescription, caFile: string): Promise<{ name: string; version: string }> {
  return withXmppProbe(org, caFile, 'fedconf-probe', (session) => session.softwareVersion(org.domain));
}

/** What a probe can ask of a logged-in XMPP session. */
export type XmppProbeSession = Pick<XmppChatClient, 'account' | 'softwareVersion' | 'discoInfo' | 'discoItems' | 'secure' | 'transcript'>;

/** Runs `use` with a logged-in short-lived account `localpart`, deleted again afterwards. */
export async function withXmppProbe<T>(org: OrganisationDescription, caFile: string, localpart: string, use: (session: XmppProbeSession) => Promise<T>): Promise<T> {
  const account = await provisionAccount(org, localpart);
  try {
    const session = await XmppChatClient.open(account, { ca: readFileSync(caFile), resource: 'probe' });
    try {
      return await use(session);
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
  connectGuest,
};

/** The @xmpp/client session behind an XMPP ChatClient, for probes that send raw stanzas (IQ, presence). */
export function stanzaSession(chat: ChatClient): Client {
  if (!(chat instanceof XmppChatClient)) throw new Error(`${chat.account.address} is not an XMPP client`);
  return chat.xmpp;
}
