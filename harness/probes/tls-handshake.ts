/**
 * TLS handshake probes for a federation or client endpoint: one attempt pinned to one protocol version, and a
 * plaintext probe. XMPP endpoints (s2s and c2s) first speak the stream header and STARTTLS (RFC 6120 §5.4).
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureVersion, type TLSSocket } from 'node:tls';

export const tlsVersions = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const satisfies readonly SecureVersion[];
export type TlsVersion = (typeof tlsVersions)[number];

export interface TlsTarget {
  /** Where to connect (an address or a name the caller already resolved). */
  host: string;
  port: number;
  /** The domain the certificate must be valid for (also sent as SNI). */
  domain: string;
  /** PEM file of the CA the certificate must chain to. */
  caFile: string;
  /** `xmpp-s2s` / `xmpp-c2s`: speak the server or client stream header and STARTTLS before the handshake. */
  kind: 'direct' | 'xmpp-s2s' | 'xmpp-c2s';
  /** `direct`: the path the plaintext probe asks for (default: the Matrix server keys). */
  plaintextPath?: string;
  timeoutMs?: number;
}

export interface TlsAttempt {
  version: TlsVersion;
  /** The server completed a handshake pinned to `version`. */
  accepted: boolean;
  /** What the handshake negotiated (when accepted). */
  negotiated?: string;
  cipher?: string;
  /** The certificate chains to the lab CA and names the domain. */
  certificateValid?: boolean;
  certificateError?: string;
  /** Why it was not accepted (the handshake error, or the XMPP step that failed). */
  error?: string;
}

const xmppHeader = (to: string, kind: TlsTarget['kind']): string => (kind === 'xmpp-c2s'
  ? `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0'>`
  : `<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' `
    + `xmlns:db='jabber:server:dialback' to='${to}' from='probe.test' version='1.0'>`);

/** A socket plus a text buffer of what it received, to wait for patterns in an XML stream. */
export class Reader {
  text = '';
  closed = false;
  private waiters: Array<() => void> = [];
  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { this.text += chunk; this.wake(); });
    socket.on('close', () => { this.closed = true; this.wake(); });
    socket.on('error', () => { this.closed = true; this.wake(); });
  }
  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
  /** Resolves with the first match of one of the patterns, or undefined when the stream closed / timed out. */
  async until(patterns: RegExp[], timeoutMs: number): Promise<RegExpMatchArray | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const p of patterns) {
        const m = this.text.match(p);
        if (m) return m;
      }
      if (this.closed || Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }
  /** Stops buffering (before the socket is handed to TLS). */
  detach(): void {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    this.socket.removeAllListeners('error');
    this.socket.pause();
  }
}

/** `localAddress`: the loopback address to connect from (a probe that may get its source address banned). */
export function openTcp(host: string, port: number, timeoutMs: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port, ...(localAddress ? { localAddress } : {}) });
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`TCP connect to ${host}:${port} timed out`)); }, timeoutMs);
    socket.once('connect', () => { clearTimeout(timer); resolve(socket); });
    socket.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

export interface XmppStreamFeatures {
  /** The raw <stream:features/> element (or what arrived instead). */
  raw: string;
  starttls: boolean;
  /** <starttls><required/></starttls>: TLS is mandatory-to-negotiate (RFC 6120 §5.3.1). */
  starttlsRequired: boolean;
  dialback: boolean;
  /** SASL mechanisms offered (RFC 6120 §6.4.1); offered before TLS, they let a client authenticate unencrypted. */
  mechanisms: string[];
  /** The stream header's `from` and `id`. */
  from?: string;
  id?: string;
  /** A stream error the server sent instead of features. */
  streamError?: string;
}

function parseFeatures(text: string): XmppStreamFeatures {
  const header = text.match(/<stream:stream\b[^>]*>/)?.[0] ?? '';
  const raw = text.match(/<stream:features\s*\/>|<stream:features\b[\s\S]*?<\/stream:features>/)?.[0] ?? text.slice(0, 2000);
  const starttls = raw.match(/<starttls\b[^>]*(\/>|>[\s\S]*?<\/starttls>)/)?.[0];
  const error = text.match(/<stream:error>([\s\S]*?)<\/stream:error>/)?.[1];
  return {
    raw,
    starttls: starttls !== undefined,
    starttlsRequired: starttls !== undefined && /<required\b/.test(starttls),
    dialback: /urn:xmpp:features:dialback/.test(raw),
    mechanisms: [...raw.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((m) => m[1]!),
    ...(header.match(/\sfrom=['"]([^'"]+)/) ? { from: header.match(/\sfrom=['"]([^'"]+)/)![1] } : {}),
    ...(header.match(/\sid=['"]([^'"]+)/) ? { id: header.match(/\sid=['"]([^'"]+)/)![1] } : {}),
    ...(error ? { streamError: error.match(/<([a-z-]+)\b/)?.[1] ?? error } : {}),
  };
}

/** Opens an s2s or c2s stream to `domain` in plaintext and returns the features, with the reader still open. */
export async function xmppOpen(target: TlsTarget, localAddress?: string): Promise<{ reader: Reader; features: XmppStreamFeatures }> {
  const timeout = target.timeoutMs ?? 5000;
  const socket = await openTcp(target.host, target.port, timeout, localAddress);
  const reader = new Reader(socket);
  socket.write(xmppHeader(target.domain, target.kind));
  const m = await reader.until([/<\/stream:features>/, /<stream:features\s*\/>/, /<\/stream:error>/, /<\/stream:stream>/], timeout);
  if (!m) {
    socket.destroy();
    throw new Error(`no <stream:features/> from ${target.host}:${target.port} (received: ${reader.text.slice(0, 300) || 'nothing'})`);
  }
  return { reader, features: parseFeatures(reader.text) };
}

/** The stream features the s2s endpoint offers to a peer before TLS (RFC 6120 §4.3.2). */
export async function xmppS2sFeatures(target: TlsTarget): Promise<XmppStreamFeatures> {
  const { reader, features } = await xmppOpen(target);
  reader.socket.destroy();
  return features;
}

export interface PlaintextProbe {
  /** What the server did with a peer that never started TLS. */
  accepted: boolean;
  detail: string;
  features?: XmppStreamFeatures;
}

/**
 * XMPP: open an s2s stream, ignore STARTTLS and ask for dialback in plaintext. A server that requires
 * encryption marks STARTTLS <required/> and refuses to go on without it (a stream error such as
 * policy-violation, or closing the stream); a server that does not, offers TLS as optional and lets
 * the peer proceed unencrypted (it answers or starts verifying the dialback key).
 * Direct TLS endpoints (Matrix): send a plaintext HTTP request; any HTTP answer means plaintext is served.
 */
export async function plaintextProbe(target: TlsTarget): Promise<PlaintextProbe> {
  const timeout = target.timeoutMs ?? 5000;
  if (target.kind === 'direct') {
    const socket = await openTcp(target.host, target.port, timeout);
    const reader = new Reader(socket);
    socket.write(`GET ${target.plaintextPath ?? '/_matrix/key/v2/server'} HTTP/1.1\r\nHost: ${target.domain}\r\nConnection: close\r\n\r\n`);
    await reader.until([/\r\n\r\n/], timeout);
    socket.destroy();
    const status = reader.text.match(/^HTTP\/1\.[01] (\d{3})/)?.[1];
    // Twisted answers a plaintext request on a TLS port with nothing, or with a TLS alert; never HTTP 200.
    if (status === '200') return { accepted: true, detail: `plaintext HTTP request answered ${status}` };
    return { accepted: false, detail: status ? `plaintext HTTP request answered ${status} (no content served)` : `no HTTP answer in plaintext (${reader.closed ? 'connection closed' : 'nothing received'})` };
  }
  const { reader, features } = await xmppOpen(target);
  if (target.kind === 'xmpp-c2s') {
    // RFC 6120 §5.3.1 / §6.4.1: a server that requires TLS marks STARTTLS <required/> and offers no SASL
    // mechanism before it; one that offers mechanisms in plaintext lets a client authenticate unencrypted.
    reader.socket.destroy();
    if (features.streamError) return { accepted: false, detail: `stream error before features: ${features.streamError}`, features };
    const accepted = !features.starttlsRequired || features.mechanisms.length > 0;
    return {
      accepted, features,
      detail: `STARTTLS ${features.starttls ? (features.starttlsRequired ? 'required' : 'offered as optional') : 'not offered'}; `
        + `SASL mechanisms offered before TLS: ${features.mechanisms.join(', ') || 'none'}`,
    };
  }
  try {
    if (features.streamError) return { accepted: false, detail: `stream error before features: ${features.streamError}`, features };
    const before = reader.text.length;
    reader.socket.write(`<db:result from='probe.test' to='${target.domain}'>0123456789abcdef</db:result>`);
    const m = await reader.until([/<\/stream:error>/, /<\/stream:stream>/, /<db:(result|verify)\b[^>]*>/], timeout);
    const after = reader.text.slice(before);
    const error = after.match(/<stream:error>\s*<([a-z-]+)/)?.[1];
    if (error) return { accepted: false, detail: `dialback in plaintext refused with stream error <${error}/>`, features };
    if (m && /<db:/.test(m[0])) return { accepted: true, detail: `dialback in plaintext went ahead: the server answered ${m[0]}`, features };
    if (reader.closed || (m && /<\/stream:stream>/.test(m[0]))) return { accepted: false, detail: 'the server closed the stream when dialback was attempted in plaintext', features };
    return {
      accepted: !features.starttlsRequired,
      detail: `no answer to dialback in plaintext within ${timeout} ms (stream still open); STARTTLS ${features.starttlsRequired ? 'required' : 'offered as optional'}`,
      features,
    };
  } finally {
    reader.socket.destroy();
  }
}

/** One handshake pinned to `version` (for XMPP after STARTTLS/<proceed/>). */
export async function tlsAttempt(target: TlsTarget, version: TlsVersion): Promise<TlsAttempt> {
  const timeout = target.timeoutMs ?? 5000;
  let socket: Socket | undefined;
  try {
    if (target.kind !== 'direct') {
      const { reader, features } = await xmppOpen(target);
      socket = reader.socket;
      if (!features.starttls) return { version, accepted: false, error: `no STARTTLS offered (features: ${features.raw.slice(0, 300)})` };
      socket.write(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
      const m = await reader.until([/<proceed\b[^>]*\/>/, /<failure\b/, /<\/stream:stream>/], timeout);
      if (!m || !/<proceed/.test(m[0])) return { version, accepted: false, error: `STARTTLS not answered with <proceed/> (${reader.text.slice(-200)})` };
      reader.detach();
    } else {
      socket = await openTcp(target.host, target.port, timeout);
    }
    const legacy = version === 'TLSv1' || version === 'TLSv1.1';
    const tls = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({
        socket, servername: target.domain, ca: readFileSync(target.caFile, 'utf8'), rejectUnauthorized: false,
        minVersion: version, maxVersion: version,
        // OpenSSL 3 refuses TLS 1.0/1.1 at its default security level, on the probing side too.
        ...(legacy ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}),
      });
      const timer = setTimeout(() => { s.destroy(); reject(new Error('TLS handshake timed out')); }, timeout);
      s.once('secureConnect', () => { clearTimeout(timer); resolve(s); });
      s.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
    const result: TlsAttempt = {
      version, accepted: true, negotiated: tls.getProtocol() ?? 'unknown', cipher: tls.getCipher()?.name ?? 'unknown',
      certificateValid: tls.authorized,
      ...(tls.authorized ? {} : { certificateError: String(tls.authorizationError) }),
    };
    tls.destroy();
    return result;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    // OpenSSL's messages carry a multi-line location; the code and the reason are what matter.
    const reason = e.message.split('\n')[0]!.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:/, '').replace(/:[^:]*\/openssl\/.*$/, '');
    return { version, accepted: false, error: `${e.code ? `${e.code}: ` : ''}${reason}`.slice(0, 300) };
  } finally {
    socket?.destroy();
  }
}

/** Every version in turn; one line per attempt, for the evidence. */
export async function tlsSurvey(target: TlsTarget): Promise<TlsAttempt[]> {
  const results: TlsAttempt[] = [];
  for (const v of tlsVersions) results.push(await tlsAttempt(target, v));
  return results;
}

export function describeAttempt(a: TlsAttempt): string {
  return a.accepted
    ? `${a.version}: ACCEPTED (negotiated ${a.negotiated}, ${a.cipher}; certificate ${a.certificateValid ? 'valid for the domain against the lab CA' : `NOT valid: ${a.certificateError}`})`
    : `${a.version}: refused (${a.error})`;
}
