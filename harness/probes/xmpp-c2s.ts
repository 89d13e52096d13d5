/**
 * A raw XMPP client-to-server stream, below the driver: STARTTLS, one SASL PLAIN attempt, resource binding.
 * Probes use it where the driver would hide what they check — each failed authentication as the server
 * answered it (SEC-BRUTE), and the moment the server ends a session (SEC-SESSION).
 */
import { readFileSync } from 'node:fs';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Reader, xmppOpen, type TlsTarget, type XmppStreamFeatures } from './tls-handshake.ts';

export interface C2sTarget {
  /** The address to connect to and the domain users are homed on. */
  host: string;
  port: number;
  domain: string;
  caFile: string;
  /** Connect from this loopback address (so a ban on the source address spares the rest of the run). */
  localAddress?: string;
  timeoutMs?: number;
}

/** An open, TLS-protected c2s stream with its features after STARTTLS. */
export interface C2sStream {
  reader: Reader;
  socket: TLSSocket;
  features: XmppStreamFeatures;
}

/** What happened to one SASL PLAIN attempt (RFC 6120 §6.4.5 / §6.5). */
export interface AuthAttempt {
  outcome: 'success' | 'failure' | 'stream-error' | 'closed' | 'timeout' | 'refused';
  /** The SASL failure condition or stream error condition, when the server named one. */
  condition?: string;
  /** Milliseconds from opening the connection to the server's answer. */
  ms: number;
  /** Text the server sent with the failure or error (e.g. mod_fail2ban's ban notice). */
  text?: string;
}

const header = (domain: string): string =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}' version='1.0'>`;

const featuresEnd = [/<\/stream:features>/, /<stream:features\s*\/>/, /<\/stream:error>/, /<\/stream:stream>/];

function streamError(text: string): { condition: string; text?: string } | undefined {
  const error = text.match(/<stream:error>([\s\S]*?)<\/stream:error>/)?.[1];
  if (!error) return undefined;
  const words = error.match(/<text\b[^>]*>([\s\S]*?)<\/text>/)?.[1];
  return { condition: error.match(/<([a-z-]+)\b/)?.[1] ?? 'unknown', ...(words ? { text: words } : {}) };
}

/** Opens a c2s stream and negotiates STARTTLS (TLS ≥ 1.2, certificate checked against the lab CA). */
export async function openC2s(target: C2sTarget): Promise<C2sStream> {
  const timeout = target.timeoutMs ?? 5000;
  const plain: TlsTarget = { host: target.host, port: target.port, domain: target.domain, caFile: target.caFile, kind: 'xmpp-c2s', timeoutMs: timeout };
  const { reader, features } = await xmppOpen(plain, target.localAddress);
  const error = streamError(reader.text);
  if (error) {
    reader.socket.destroy();
    throw new StreamRefused(error.condition, error.text);
  }
  if (!features.starttls) {
    reader.socket.destroy();
    throw new Error(`${target.domain}: no STARTTLS offered on c2s (features: ${features.raw.slice(0, 300)})`);
  }
  reader.socket.write(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
  const proceed = await reader.until([/<proceed\b[^>]*\/>/, /<failure\b/, /<\/stream:stream>/], timeout);
  if (!proceed || !/<proceed/.test(proceed[0])) {
    reader.socket.destroy();
    throw new Error(`${target.domain}: STARTTLS not answered with <proceed/> (${reader.text.slice(-200)})`);
  }
  reader.detach();
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({ socket: reader.socket, servername: target.domain, ca: readFileSync(target.caFile, 'utf8'), minVersion: 'TLSv1.2' });
    const timer = setTimeout(() => { s.destroy(); reject(new Error('TLS handshake timed out')); }, timeout);
    s.once('secureConnect', () => { clearTimeout(timer); resolve(s); });
    s.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
  return restart({ reader: new Reader(socket), socket, features }, target.domain, timeout);
}

/** Sends a new stream header on the same connection and waits for the features (after TLS or SASL). */
async function restart(stream: C2sStream, domain: string, timeoutMs: number): Promise<C2sStream> {
  const before = stream.reader.text.length;
  stream.socket.write(header(domain));
  const m = await stream.reader.until(featuresEnd, timeoutMs);
  const text = stream.reader.text.slice(before);
  if (!m) throw new Error(`${domain}: no stream features after the stream restart (received: ${text.slice(0, 300) || 'nothing'})`);
  const features = text.match(/<stream:features\s*\/>|<stream:features\b[\s\S]*?<\/stream:features>/)?.[0] ?? text;
  return { ...stream, features: { ...stream.features, raw: features, mechanisms: [...features.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((x) => x[1]!) } };
}

/** The server refused the stream before authentication (e.g. a banned source address). */
export class StreamRefused extends Error {
  constructor(readonly condition: string, readonly serverText?: string) {
    super(`stream refused with <${condition}/>${serverText ? `: ${serverText}` : ''}`);
  }
}

/** One SASL PLAIN authentication on an open stream (RFC 4616); the password never leaves this function. */
export async function authenticate(stream: C2sStream, username: string, password: string, timeoutMs = 5000): Promise<Omit<AuthAttempt, 'ms'>> {
  const before = stream.reader.text.length;
  const payload = Buffer.from(`\0${username}\0${password}`, 'utf8').toString('base64');
  stream.socket.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${payload}</auth>`);
  const m = await stream.reader.until([/<success\b[^>]*(\/>|>[\s\S]*?<\/success>)/, /<failure\b[\s\S]*?(<\/failure>|\/>)/, /<\/stream:error>/, /<\/stream:stream>/], timeoutMs);
  const answer = stream.reader.text.slice(before);
  if (!m) return stream.reader.closed ? { outcome: 'closed' } : { outcome: 'timeout' };
  if (/^<success/.test(m[0])) return { outcome: 'success' };
  if (/^<failure/.test(m[0])) {
    const condition = m[0].match(/<failure\b[^>]*>\s*<([a-z-]+)/)?.[1] ?? 'unknown';
    const words = m[0].match(/<text\b[^>]*>([\s\S]*?)<\/text>/)?.[1];
    return { outcome: 'failure', condition, ...(words ? { text: words } : {}) };
  }
  const error = streamError(answer);
  return error ? { outcome: 'stream-error', ...error } : { outcome: 'closed' };
}

/** Connects, tries `password` once and closes: the whole attempt as a brute-forcer would make it. */
export async function loginAttempt(target: C2sTarget, username: string, password: string): Promise<AuthAttempt> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  let stream: C2sStream | undefined;
  try {
    stream = await openC2s(target);
    return { ...await authenticate(stream, username, password, target.timeoutMs), ms: ms() };
  } catch (error) {
    if (error instanceof StreamRefused) return { outcome: 'stream-error', condition: error.condition, ...(error.serverText ? { text: error.serverText } : {}), ms: ms() };
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET') return { outcome: 'refused', condition: e.code, ms: ms() };
    throw error;
  } finally {
    stream?.socket.destroy();
  }
}

/** A logged-in, bound session (RFC 6120 §7), for watching the server end it. */
export interface C2sSession {
  jid: string;
  stream: C2sStream;
  /** Resolves with what ended the stream (stream error condition, or "closed") once the server ends it. */
  ended(timeoutMs: number): Promise<string | undefined>;
  /** An XEP-0199 ping round trip; false when the session no longer answers. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

export async function openSession(target: C2sTarget, username: string, password: string): Promise<C2sSession> {
  const timeout = target.timeoutMs ?? 5000;
  let stream = await openC2s(target);
  const auth = await authenticate(stream, username, password, timeout);
  if (auth.outcome !== 'success') {
    stream.socket.destroy();
    throw new Error(`${username}@${target.domain}: authentication failed (${auth.outcome} ${auth.condition ?? ''})`);
  }
  stream = await restart(stream, target.domain, timeout);
  const before = stream.reader.text.length;
  stream.socket.write(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>probe</resource></bind></iq>`);
  const bound = await stream.reader.until([/<jid>([^<]+)<\/jid>/, /type=['"]error['"]/], timeout);
  if (!bound?.[1]) {
    stream.socket.destroy();
    throw new Error(`${username}@${target.domain}: resource binding failed (${stream.reader.text.slice(before, before + 300)})`);
  }
  const s = stream;
  let pings = 0;
  return {
    jid: bound[1],
    stream: s,
    async ended(timeoutMs) {
      const m = await s.reader.until([/<\/stream:error>/, /<\/stream:stream>/], timeoutMs);
      if (m) return streamError(s.reader.text)?.condition ?? 'stream closed by the server';
      return s.reader.closed ? 'connection closed by the server' : undefined;
    },
    async ping(timeoutMs = timeout) {
      if (s.reader.closed) return false;
      const id = `ping${++pings}`;
      s.socket.write(`<iq type='get' id='${id}' to='${target.domain}'><ping xmlns='urn:xmpp:ping'/></iq>`);
      return (await s.reader.until([new RegExp(`<iq\\b[^>]*id=['"]${id}['"]`)], timeoutMs)) !== undefined;
    },
    close() {
      s.socket.destroy();
    },
  };
}
