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
  | FileEvent
  | PresenceEvent
  | ContactRequestEvent;

// --- Files and profiles (FED-FILE, FED-DIRECTORY) ------------------------------------------------

/** A file to share: its name (shown to the recipient), media type and bytes. */
export interface FileToShare {
  name: string;
  mimeType: string;
  data: Uint8Array;
}

/**
 * A message that shares a file, as the receiving client parsed it. `url` is where the file lives
 * (Matrix: the `mxc://` content URI; XMPP: the XEP-0066 out-of-band URL, the XEP-0363 GET URL).
 */
export interface FileEvent {
  kind: 'file';
  conversation: string;
  sender: string;
  /** The name the message gives the file (Matrix `body`/`filename`; XMPP: the URL's last path segment). */
  name: string;
  url: string;
  id: string;
  receivedAt: number;
}

/** What a profile lookup by address found. */
export interface Profile {
  displayName?: string;
}

/** The file and profile part of ChatClient (kept as one block). */
export interface FileAndProfileClient {
  /** Upload a file on one's own server and share it in the conversation; resolves with the message's id. */
  shareFile(conversation: Conversation, file: FileToShare): Promise<string>;
  /** Download a shared file the way this user's client would (through this user's own server / its URL). */
  downloadFile(file: FileEvent): Promise<Uint8Array>;
  /** Set this user's display name (Matrix profile `displayname`; XMPP vCard `FN`). */
  setDisplayName(name: string): Promise<void>;
  /** Look up a person's profile by address (Matrix profile API on one's own server; XMPP vcard-temp IQ). */
  lookupProfile(address: string): Promise<Profile>;
}

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

/** What a directory search gave: the addresses found, or that the organisation offers no directory at all. */
export type DirectoryAnswer = { offered: true; found: string[] } | { offered: false; why: string };

/** How a new room treats guests (GST-*): absent keeps the driver's usual room. */
export interface RoomOptions {
  /** true: opened to guests (M: m.room.guest_access can_join; X: an open MUC); false: closed to them (M: forbidden; X: members-only). */
  guests?: boolean;
  /** 'joined': people who join later see nothing sent before they joined (M: history_visibility joined; X: history length 0). */
  history?: 'joined';
  /** RET-*: the room's own maximum message lifetime (M: m.room.retention max_lifetime); ignored where rooms have none. */
  retentionSeconds?: number;
}

// --- Retention (RET-*): what a server still gives back of messages sent earlier ----------------

/** A message as its sender knows it: the id send() returned and its body. */
export interface SentMessage {
  id: string;
  body: string;
}

/** One read path of a user's server (history paging, single-event fetch, search, archive query) and what it still returns. */
export interface ReadPathAnswer {
  path: string;
  /** Ids (as asked) of the messages this path still returns. */
  readable: string[];
}

/** A logged-in user, protocol-neutral. Scenarios are written against this only. */
export interface ChatClient extends FileAndProfileClient {
  readonly account: Account;
  /** Start a 1:1 conversation with a person known only by address (may be on another server). */
  openDirect(peerAddress: string): Promise<Conversation>;
  /** Accept a 1:1 conversation someone else opened (Matrix: join on invite; XMPP: nothing to accept). */
  acceptDirect(fromAddress: string, options?: Partial<WaitOptions>): Promise<Conversation>;
  /** Create a persistent group room (Matrix room / XMPP MUC) hosted on this user's organisation. */
  createRoom(name: string, options?: RoomOptions): Promise<{ conversation: Conversation; ref: string }>;
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
  /** Invite someone into a room (M: /invite; X: XEP-0045 §7.8.2 mediated invitation). A refusal is a ConformanceFailure. */
  invite(conversation: Conversation, address: string): Promise<void>;
  /**
   * Search the user directory of this user's organisation (M: POST /user_directory/search; X: a XEP-0055 search
   * service the server lists in disco#items). A refusal is a ConformanceFailure; a server without one says so.
   */
  searchDirectory(term: string): Promise<DirectoryAnswer>;
  /** Messages received so far in a conversation, in arrival order. */
  messages(conversation: Conversation): MessageEvent[];
  /** Current members of a room as this client's server reports them. */
  members(conversation: Conversation): Promise<string[]>;
  /**
   * What this client is told about one member of a room, as the protocol carries it (GST-MARKED): Matrix the content
   * of their m.room.member state event; XMPP the attributes of the muc#user <item/> in their occupant presence
   * (jid, affiliation, role) and their occupant JID. undefined: no such member.
   */
  memberRecord(conversation: Conversation, address: string): Promise<Record<string, unknown> | undefined>;
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
  /**
   * RET-*: of `messages` sent into the conversation, those each read path of this user's server still returns
   * (M: /messages, GET /rooms/{roomId}/event/{eventId}, /search, a fresh /sync; X: the XEP-0313 archive query).
   */
  readBack(conversation: Conversation, messages: SentMessage[]): Promise<ReadPathAnswer[]>;
  /** The readable SENT / RECV transcript of this client's exchange, for evidence. */
  transcript(): string[];
  close(): Promise<void>;
}

/** Logs users in; creating them is harness/provisioning's job. */
export interface ProtocolDriver {
  readonly protocol: Protocol;
  connect(account: Account): Promise<ChatClient>;
  /**
   * A guest with no account on `org` (M: guest registration; X: SASL ANONYMOUS on the organisation's guest host).
   * Throws GuestRefused when the server turns the guest away, any other error when the harness could not ask.
   */
  connectGuest(org: OrganisationDescription): Promise<ChatClient>;
}

/** The server refused a guest: an answer about the product, not a harness failure. */
export class GuestRefused extends Error {
  override readonly name = 'GuestRefused';
}

export const defaultWaitMs = 15_000;
