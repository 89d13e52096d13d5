import type { OrganisationDescription, Protocol } from '../lab/types.ts';

/** A test user on one organisation's server. `address` is what another person would type to reach them. */
export interface Account {
  /** Matrix user id (`@alice:org-a.test`) or bare JID (`alice@org-a.test`). */
  address: string;
  localpart: string;
  password: string;
  org: OrganisationDescription;
}

/** A conversation as one client sees it (a Matrix room id; an XMPP peer JID or MUC room JID). */
export interface Conversation {
  id: string;
  kind: 'direct' | 'room';
}

/**
 * A message as the receiving client parsed it off the wire. `id` is the id other participants use to refer to
 * it (Matrix: the event id; XMPP: in a room the stanza-id the MUC assigned (XEP-0359) if it assigned one,
 * else the stanza's id attribute). `mentions` and `thread` are present only when the message carried them.
 */
export interface MessageEvent {
  kind: 'message';
  conversation: string;
  sender: string;
  body: string;
  id: string;
  receivedAt: number;
  /** Addresses the message marks as mentioned (Matrix `m.mentions.user_ids`; XMPP XEP-0372 mention references). */
  mentions?: string[];
  /** The id (as this client knows it) of the root of the thread the message belongs to. */
  thread?: string;
}

export type ChatEvent =
  | MessageEvent
  /** An earlier message replaced: `target` is the replaced message's id as this client knows it. */
  | { kind: 'edit'; conversation: string; sender: string; target: string; body: string; id: string; receivedAt: number }
  /** An earlier message withdrawn by its sender. */
  | { kind: 'retraction'; conversation: string; sender: string; target: string; receivedAt: number }
  /** A reaction `key` (an emoji) to an earlier message. */
  | { kind: 'reaction'; conversation: string; sender: string; target: string; key: string; receivedAt: number }
  | { kind: 'member'; conversation: string; member: string; membership: 'join' | 'leave' | 'invite'; receivedAt: number }
  | { kind: 'invite'; conversation: string; sender: string; direct: boolean; receivedAt: number }
  | PresenceEvent
  | ContactRequestEvent;

// --- Presence (FED-PRESENCE): what a contact shows others, and becoming a contact ---------------

/** KS 6.2.2 "upptagen/tillgänglig": available or busy; offline when the contact has gone. */
export type Availability = 'available' | 'busy' | 'offline';

/**
 * A contact's presence as this client received it. Presence belongs to no conversation: `conversation` is the
 * contact's address. `wire` is the protocol's own value (Matrix `presence`: online / unavailable / offline;
 * XMPP `<show/>` or `type='unavailable'`), for the evidence.
 */
export interface PresenceEvent { kind: 'presence'; conversation: string; sender: string; availability: Availability; status?: string; wire: string; receivedAt: number }

/** Someone asks to see this user's presence (XMPP `<presence type='subscribe'/>`; Matrix has no such request). */
export interface ContactRequestEvent { kind: 'contact-request'; conversation: string; sender: string; receivedAt: number }

/** What a message carries besides its body. Message ids are those send() returned or a message event showed. */
export interface SendOptions {
  /** Addresses of the people the message mentions; the body should name them too. */
  mentions?: string[];
  /** Send the message as a reply in the thread rooted at this message. */
  threadRoot?: string;
}

export interface WaitOptions {
  /** What the scenario waits for, in words, for the failure message. */
  description: string;
  timeoutMs?: number;
}

/** A logged-in user, protocol-neutral. Scenarios are written against this only. */
export interface ChatClient {
  readonly account: Account;
  /** Start a 1:1 conversation with a person known only by address (may be on another server). */
  openDirect(peerAddress: string): Promise<Conversation>;
  /** Accept a 1:1 conversation someone else opened (Matrix: join on invite; XMPP: nothing to accept). */
  acceptDirect(fromAddress: string, options?: Partial<WaitOptions>): Promise<Conversation>;
  /** Create a persistent group room (Matrix room / XMPP MUC) hosted on this user's organisation. */
  createRoom(name: string): Promise<{ conversation: Conversation; ref: string }>;
  /** Join a room by the reference its creator got from createRoom (room id / MUC JID). */
  joinRoom(ref: string): Promise<Conversation>;
  /** Send a message; resolves with its id (what edit/retract/react/threadRoot take). */
  send(conversation: Conversation, body: string, options?: SendOptions): Promise<string>;
  /** Replace the body of one's own earlier message (Matrix `m.replace`; XMPP XEP-0308). Resolves with the edit's id. */
  edit(conversation: Conversation, messageId: string, newBody: string): Promise<string>;
  /** Delete one's own earlier message for everyone (Matrix redaction; XMPP XEP-0424 retraction). */
  retract(conversation: Conversation, messageId: string): Promise<void>;
  /** React to a message with `key` (Matrix `m.annotation`; XMPP XEP-0444). Resolves with the reaction's id. */
  react(conversation: Conversation, messageId: string, key: string): Promise<string>;
  /** Resolve with the first received event (past or future) that matches; on timeout throw ConformanceFailure. */
  waitFor(match: (event: ChatEvent) => boolean, options: WaitOptions): Promise<ChatEvent>;
  /** Messages received so far in a conversation, in arrival order. */
  messages(conversation: Conversation): MessageEvent[];
  /** Current members of a room as this client's server reports them. */
  members(conversation: Conversation): Promise<string[]>;
  // --- Presence (FED-PRESENCE). Matrix shares presence with everyone one shares a room with, so there the
  // request / approval steps do nothing; in XMPP they are the roster subscription of RFC 6121 §3.
  /** Ask to see `peerAddress`'s presence (XMPP: `<presence type='subscribe'/>`, RFC 6121 §3.1.1). */
  requestPresence(peerAddress: string): Promise<void>;
  /** Wait for `fromAddress`'s request to see this user's presence and approve it (XMPP: `subscribed`, RFC 6121 §3.1.4). */
  approvePresence(fromAddress: string, options?: Partial<WaitOptions>): Promise<void>;
  /** Show others this availability and status text (Matrix: PUT /presence, busy = `unavailable`; XMPP: `<show>dnd</show>`). */
  setPresence(availability: Exclude<Availability, 'offline'>, status?: string): Promise<void>;
  // --- Room order (the concurrency scenario of FED-ROOM / FED-INTEGRITY).
  /**
   * The room's messages, own ones included, in the order this user's server presents them (Matrix: the room
   * history from /messages; XMPP: the order the MUC delivered them to this session, own reflections included).
   */
  history(conversation: Conversation): Promise<MessageEvent[]>;
  /** The readable SENT / RECV transcript of this client's exchange, for evidence. */
  transcript(): string[];
  close(): Promise<void>;
}

/** Logs users in; creating them is harness/provisioning's job. */
export interface ProtocolDriver {
  readonly protocol: Protocol;
  connect(account: Account): Promise<ChatClient>;
}

export const defaultWaitMs = 15_000;
