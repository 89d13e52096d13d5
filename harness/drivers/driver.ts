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

export type ChatEvent =
  | { kind: 'message'; conversation: string; sender: string; body: string; id: string; receivedAt: number }
  | { kind: 'member'; conversation: string; member: string; membership: 'join' | 'leave' | 'invite'; receivedAt: number }
  | { kind: 'invite'; conversation: string; sender: string; direct: boolean; receivedAt: number };

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
  send(conversation: Conversation, body: string): Promise<string>;
  /** Resolve with the first received event (past or future) that matches; on timeout throw ConformanceFailure. */
  waitFor(match: (event: ChatEvent) => boolean, options: WaitOptions): Promise<ChatEvent>;
  /** Messages received so far in a conversation, in arrival order. */
  messages(conversation: Conversation): Extract<ChatEvent, { kind: 'message' }>[];
  /** Current members of a room as this client's server reports them. */
  members(conversation: Conversation): Promise<string[]>;
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
