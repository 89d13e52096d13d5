/**
 * A minimal Matrix homeserver peer, in-process, for probes that must *be* a federation peer (FED-AUTH,
 * SEC-BAD-INPUT): its own ed25519 signing key, request signing (Server-Server API "Request Authentication",
 * `Authorization: X-Matrix …`), and just enough of the event format to join a room and send messages
 * (content hash, redaction, reference hash, signatures).
 *
 * Where it lives: the lab DNS resolves `probe.test` to an address no server holds (LabDescription.peerProbe),
 * and the lab CA issued it a certificate. The peer binds that address on :8448 while a scenario runs and
 * serves its keys at /_matrix/key/v2/server, so the server under test can fetch them and verify what the
 * peer signs, exactly as it would for any other homeserver. No server under test is touched or stood in for.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign as edSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import anotherJson from 'another-json';
import { Agent, request } from 'undici';

export const canonicalJson = (value: unknown): string => anotherJson.stringify(value);

const unpadded = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
const urlSafe = (b: Buffer): string => unpadded(b).replace(/\+/g, '-').replace(/\//g, '_');

/** An ed25519 signing key with its Matrix key id. */
export class SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** `seed`: a fixed 32-byte private key (the specification's test vectors); default a fresh one. */
  constructor(readonly keyId = 'ed25519:fedconf', seed?: Buffer) {
    if (seed) {
      this.privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
      this.publicKey = createPublicKey(this.privateKey);
    } else {
      ({ privateKey: this.privateKey, publicKey: this.publicKey } = generateKeyPairSync('ed25519'));
    }
  }
  /** The raw 32-byte public key, unpadded base64 (as verify_keys publishes it). */
  get publicBase64(): string {
    return unpadded(this.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
  }
  /** Signature of the canonical JSON of `value`, unpadded base64 (Appendices §3.3 "Signing JSON"). */
  signature(value: unknown): string {
    return unpadded(edSign(null, Buffer.from(canonicalJson(value), 'utf8'), this.privateKey));
  }
}

type Json = Record<string, unknown>;

/** `value` without `signatures` and `unsigned`: what a signature covers. */
function signable(value: Json): Json {
  const { signatures: _s, unsigned: _u, ...rest } = value;
  return rest;
}

/** Adds `origin`'s signature by `key` to the object's `signatures` (keeps other servers' signatures). */
export function signJson<T extends Json>(value: T, origin: string, key: SigningKey): T & { signatures: Record<string, Record<string, string>> } {
  const signatures = { ...(value.signatures as Record<string, Record<string, string>> | undefined) };
  signatures[origin] = { ...signatures[origin], [key.keyId]: key.signature(signable(value)) };
  return { ...value, signatures };
}

/** Room versions the peer can take part in: 6–12 (event ids are url-safe reference hashes from v4 on). */
export const supportedRoomVersions = ['6', '7', '8', '9', '10', '11', '12'] as const;

/** Content keys the redaction algorithm keeps, per event type (Client-Server API "Redactions", room versions 6–12). */
function keptContentKeys(type: string, roomVersion: string): string[] | 'all' {
  const v = Number(roomVersion);
  switch (type) {
    case 'm.room.member': return ['membership', ...(v >= 9 ? ['join_authorised_via_users_server'] : []), ...(v >= 11 ? ['third_party_invite'] : [])];
    case 'm.room.create': return v >= 11 ? 'all' : ['creator'];
    case 'm.room.join_rules': return ['join_rule', ...(v >= 8 ? ['allow'] : [])];
    case 'm.room.power_levels': return ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default', ...(v >= 11 ? ['invite'] : [])];
    case 'm.room.history_visibility': return ['history_visibility'];
    default: return [];
  }
}

/** The redacted form of an event (what its signatures and reference hash cover). */
export function redact(event: Json, roomVersion: string): Json {
  const topLevel = ['event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures', 'depth', 'prev_events', 'auth_events', 'origin_server_ts',
    ...(Number(roomVersion) < 11 ? ['origin', 'membership', 'prev_state'] : [])];
  const out: Json = {};
  for (const k of topLevel) if (k in event) out[k] = event[k];
  const kept = keptContentKeys(String(event.type), roomVersion);
  const content = (event.content ?? {}) as Json;
  if (kept === 'all') out.content = content;
  else {
    const c: Json = {};
    for (const k of kept) if (k in content) c[k] = content[k];
    // v11 keeps only third_party_invite.signed.
    if (c.third_party_invite && typeof c.third_party_invite === 'object') c.third_party_invite = { signed: (c.third_party_invite as Json).signed };
    out.content = c;
  }
  return out;
}

/** Content hash (Server-Server API "Calculating the content hash for an event"): sha256 over the event without unsigned/signatures/hashes. */
export function contentHash(event: Json): string {
  const { unsigned: _u, signatures: _s, hashes: _h, ...rest } = event;
  return unpadded(createHash('sha256').update(canonicalJson(rest), 'utf8').digest());
}

/** Event id in room versions ≥ 4: `$` + url-safe reference hash of the redacted event (without signatures/unsigned/age_ts). */
export function eventId(event: Json, roomVersion: string): string {
  const { signatures: _s, unsigned: _u, age_ts: _a, ...rest } = redact(event, roomVersion);
  return `$${urlSafe(createHash('sha256').update(canonicalJson(rest), 'utf8').digest())}`;
}

/** Hashes and signs an event as its origin server does; returns the PDU and its id. */
export function finishEvent(event: Json, roomVersion: string, origin: string, key: SigningKey): { pdu: Json; id: string } {
  const hashed = { ...event, hashes: { sha256: contentHash(event) } };
  const signature = key.signature(signable(redact(hashed, roomVersion)));
  const pdu = { ...hashed, signatures: { [origin]: { [key.keyId]: signature } } };
  return { pdu, id: eventId(pdu, roomVersion) };
}

/** The same PDU with its signature's bytes flipped: well-formed, but it does not verify. */
export function breakSignature(pdu: Json, origin: string, keyId: string): Json {
  const sigs = pdu.signatures as Record<string, Record<string, string>>;
  const bytes = Buffer.from(sigs[origin]![keyId]!, 'base64');
  bytes[0] = bytes[0]! ^ 0xff;
  return { ...pdu, signatures: { [origin]: { [keyId]: unpadded(bytes) } } };
}

/** A federation endpoint of the server under test: its server name, and where to connect. */
export interface MatrixTarget {
  serverName: string;
  address: string;
  port: number;
}

export interface SignedRequestOptions {
  /** The `origin` the header claims (default: the peer's own domain). */
  origin?: string;
  /** The key the request is signed with, and the key id the header names (default: the peer's published key). */
  key?: SigningKey;
  /** The `destination` the header names (default: the target's server name). */
  destination?: string;
  /** false: send no Authorization header at all. */
  authorization?: false;
  /** A raw body sent as is (e.g. invalid JSON); the signature then covers no content. */
  rawBody?: string;
}

export interface PeerResponse {
  status: number;
  body: unknown;
  text: string;
}

export interface MatrixPeerOptions {
  domain: string;
  address: string;
  tls: { certFile: string; keyFile: string };
  caFile: string;
}

/**
 * The peer: a key server on <address>:8448 for its own domain, and a client for signed federation
 * requests. It answers transactions sent to it with 200 and everything else with 404; it stores nothing.
 */
export class MatrixPeer {
  /**
   * A fresh key under a fresh key id per peer: servers cache a peer's keys by id (Synapse until valid_until_ts),
   * so a new key under an old id would be checked against the cached one.
   */
  readonly key = new SigningKey(`ed25519:fedconf${randomBytes(3).toString('hex')}`);
  /** Requests the server under test made to the peer, for the evidence. */
  readonly received: string[] = [];
  /** The bodies of the transactions (PUT /send) the server under test sent the peer, as received (E2E-BLIND reads them). */
  readonly transactions: Json[] = [];
  private server?: Server;
  /** One TLS agent per server name (SNI and certificate check against the lab CA). */
  private readonly agents = new Map<string, Agent>();

  constructor(readonly options: MatrixPeerOptions) {}

  private agentFor(serverName: string): Agent {
    let agent = this.agents.get(serverName);
    if (!agent) {
      agent = new Agent({ connect: { ca: readFileSync(this.options.caFile, 'utf8'), servername: serverName } });
      this.agents.set(serverName, agent);
    }
    return agent;
  }

  get domain(): string {
    return this.options.domain;
  }

  /** The signed key document (Server-Server API "Publishing Keys"), valid for an hour. */
  keyDocument(): Json {
    return signJson({
      server_name: this.domain,
      valid_until_ts: Date.now() + 3_600_000,
      verify_keys: { [this.key.keyId]: { key: this.key.publicBase64 } },
      old_verify_keys: {},
    }, this.domain, this.key);
  }

  async start(): Promise<void> {
    const server = createServer({ cert: readFileSync(this.options.tls.certFile), key: readFileSync(this.options.tls.keyFile) }, (req, res) => {
      const path = req.url ?? '';
      this.received.push(`${req.method} ${path}`);
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      if (req.method === 'PUT' && path.startsWith('/_matrix/federation/v1/send/')) {
        req.on('end', () => { try { this.transactions.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json); } catch { /* not JSON: nothing to keep */ } });
      }
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET' && path.startsWith('/_matrix/key/v2/server')) answer(200, this.keyDocument());
      else if (req.method === 'PUT' && path.startsWith('/_matrix/federation/v1/send/')) answer(200, { pdus: {} });
      else if (path.startsWith('/_matrix/federation/v1/version')) answer(200, { server: { name: 'fedconf probe', version: '0' } });
      else answer(404, { errcode: 'M_UNRECOGNIZED', error: 'the fedconf probe peer serves keys only' });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(8448, this.options.address, () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
    await Promise.allSettled([...this.agents.values()].map((a) => a.close()));
  }

  /** The `Authorization: X-Matrix` header for a request (Server-Server API "Request Authentication"). */
  authorization(target: MatrixTarget, method: string, uri: string, content: unknown, options: SignedRequestOptions = {}): string {
    const origin = options.origin ?? this.domain;
    const key = options.key ?? this.key;
    const destination = options.destination ?? target.serverName;
    const signed: Json = { method, uri, origin, destination, ...(content === undefined ? {} : { content }) };
    return `X-Matrix origin="${origin}",destination="${destination}",key="${key.keyId}",sig="${key.signature(signed)}"`;
  }

  /** One federation request to the server under test, signed unless told otherwise. */
  async request(target: MatrixTarget, method: 'GET' | 'PUT' | 'POST', uri: string, content?: unknown, options: SignedRequestOptions = {}): Promise<PeerResponse> {
    const body = options.rawBody ?? (content === undefined ? undefined : JSON.stringify(content));
    const headers: Record<string, string> = { host: target.serverName, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    if (options.authorization !== false) headers.authorization = this.authorization(target, method, uri, options.rawBody === undefined ? content : undefined, options);
    const response = await request(`https://${target.address}:${target.port}${uri}`, {
      method, headers, ...(body === undefined ? {} : { body }),
      dispatcher: this.agentFor(target.serverName),
      headersTimeout: 30_000, bodyTimeout: 30_000,
    });
    const text = await response.body.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON: keep the text */ }
    return { status: response.statusCode, body: parsed, text };
  }

  /** PUT /send/{txnId} with these PDUs; resolves with the response (per-PDU results in body.pdus). */
  async sendTransaction(target: MatrixTarget, pdus: Json[], txnId = `fedconf-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`): Promise<PeerResponse> {
    return this.request(target, 'PUT', `/_matrix/federation/v1/send/${encodeURIComponent(txnId)}`, { origin: this.domain, origin_server_ts: Date.now(), pdus, edus: [] });
  }

  /**
   * Joins `userId` (on the peer's domain) to a public room on the target: make_join, then send_join v2.
   * Resolves with what later events in the room need: the room version, the join's id and depth, and the
   * auth events a message from this user cites (create (before v12), power levels, the join).
   */
  async joinRoom(target: MatrixTarget, roomId: string, userId: string): Promise<JoinedRoom> {
    const query = supportedRoomVersions.map((v) => `ver=${v}`).join('&');
    const made = await this.request(target, 'GET', `/_matrix/federation/v1/make_join/${encodeURIComponent(roomId)}/${encodeURIComponent(userId)}?${query}`);
    if (made.status !== 200) throw new Error(`make_join answered ${made.status}: ${made.text.slice(0, 300)}`);
    const { event: template, room_version: roomVersion } = made.body as { event: Json; room_version: string };
    const { pdu, id } = finishEvent({ ...template, origin: this.domain, origin_server_ts: Date.now() }, roomVersion, this.domain, this.key);
    const joined = await this.request(target, 'PUT', `/_matrix/federation/v2/send_join/${encodeURIComponent(roomId)}/${encodeURIComponent(id)}`, pdu);
    if (joined.status !== 200) throw new Error(`send_join answered ${joined.status}: ${joined.text.slice(0, 300)}`);
    const state = (joined.body as { state?: Json[] }).state ?? [];
    const idOf = (type: string) => state.filter((e) => e.type === type && e.state_key === '').map((e) => eventId(e, roomVersion))[0];
    const joinAuth = (template.auth_events as string[]) ?? [];
    const createId = idOf('m.room.create');
    const powerId = idOf('m.room.power_levels');
    if (!powerId) throw new Error('send_join returned no m.room.power_levels state event');
    return {
      roomId, roomVersion, userId, joinId: id, depth: Number(template.depth),
      authEvents: [...(createId && joinAuth.includes(createId) ? [createId] : []), powerId, id],
      lastEventId: id,
    };
  }

  /** A message event from the joined user, hashed and signed, following the last event the peer sent. */
  message(room: JoinedRoom, body: string, overrides: Json = {}): { pdu: Json; id: string } {
    room.depth += 1;
    const event: Json = {
      type: 'm.room.message', room_id: room.roomId, sender: room.userId, origin: this.domain, origin_server_ts: Date.now(),
      depth: room.depth, prev_events: [room.lastEventId], auth_events: room.authEvents,
      content: { msgtype: 'm.text', body }, ...overrides,
    };
    return finishEvent(event, room.roomVersion, this.domain, this.key);
  }
}

export interface JoinedRoom {
  roomId: string;
  roomVersion: string;
  userId: string;
  joinId: string;
  depth: number;
  authEvents: string[];
  /** The event new messages cite as prev_events (the peer's own last accepted event). */
  lastEventId: string;
}
