/**
 * A raw XMPP server-to-server peer for probes that must *be* a federation peer (FED-AUTH, SEC-BAD-INPUT):
 * it opens an s2s stream to the server under test as `probe.test` (LabDescription.peerProbe), negotiates
 * STARTTLS presenting a certificate of the probe's choosing (the lab CA's, or a self-signed one), and then
 * tries to authenticate with SASL EXTERNAL (XEP-0178) or server dialback (XEP-0220).
 *
 * Dialback makes the server under test call back the sending domain's authoritative server; the
 * DialbackAuthority below plays it on probe.test:5269 and vouches for every key, so a dialback attempt
 * succeeds exactly when the server under test is willing to trust dialback alone.
 * XML is parsed with @xmpp/xml (ltx); what is sent is written out literally, on purpose (malformed input).
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, TLSSocket } from 'node:tls';
import { Parser, type Element } from '@xmpp/xml';

const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_DIALBACK_FEATURE = 'urn:xmpp:features:dialback';

export const streamHeader = (from: string, to: string, id?: string): string =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' `
  + `from='${from}' to='${to}' version='1.0'${id ? ` id='${id}'` : ''}>`;

export interface PeerCertificate {
  certFile: string;
  keyFile: string;
}

/** One XML stream on a socket: top-level elements as they arrive, and a transcript for the evidence. */
class XmlStream {
  readonly elements: Element[] = [];
  header?: Element;
  closed = false;
  ended = false;
  private parser = new Parser();
  private waiters: Array<() => void> = [];

  constructor(public socket: Socket, private readonly log: string[], private readonly label: string) {
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.log.push(`${this.label} RECV ${chunk.toString('utf8').slice(0, 1500)}`);
      try { this.parser.write(chunk.toString('utf8')); } catch (e) { this.log.push(`${this.label} (unparsable input: ${(e as Error).message})`); }
    });
    socket.on('close', () => { this.closed = true; this.log.push(`${this.label} connection closed`); this.wake(); });
    socket.on('error', (e) => { this.log.push(`${this.label} socket error: ${e.message}`); this.closed = true; this.wake(); });
    this.parser.on('start', (el: Element) => { this.header = el; this.wake(); });
    this.parser.on('element', (el: Element) => { this.elements.push(el); this.wake(); });
    this.parser.on('end', () => { this.ended = true; this.wake(); });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  write(text: string): void {
    this.log.push(`${this.label} SENT ${text.slice(0, 600)}${text.length > 600 ? ` … (${text.length} bytes)` : ''}`);
    this.socket.write(text);
  }

  /** The first top-level element (from `from` on) matching, or undefined when the stream ended / timed out. */
  async next(match: (el: Element) => boolean, timeoutMs: number, from = 0): Promise<Element | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.elements.slice(from).find(match);
      if (found) return found;
      if (this.closed || this.ended || Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  async headerArrived(timeoutMs: number): Promise<Element | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (!this.header && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.header;
  }

  /** After STARTTLS: a new socket and a fresh parser for the restarted stream (RFC 6120 §5.4.3.3). */
  restart(socket: Socket): void {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    this.socket.removeAllListeners('error');
    this.parser = new Parser();
    this.header = undefined;
    this.elements.length = 0;
    this.closed = false;
    this.ended = false;
    this.attach(socket);
  }
}

/** A stream error's condition (`<stream:error><invalid-from/>…`), if the element is one. */
export function streamErrorCondition(el: Element | undefined): string | undefined {
  if (!el || el.name !== 'stream:error') return undefined;
  return el.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name;
}

export interface S2sTarget {
  /** The server under test's domain (the stream's `to`). */
  domain: string;
  address: string;
  port: number;
}

/** The initiating side of one s2s stream from the probe's domain to the server under test. */
export class S2sStream {
  readonly log: string[] = [];
  private xml!: XmlStream;
  features?: Element;

  private constructor(readonly from: string, readonly target: S2sTarget, private readonly timeoutMs: number) {}

  /** Opens TCP, sends the stream header, waits for the response header and the stream features. */
  static async open(from: string, target: S2sTarget, timeoutMs = 8000): Promise<S2sStream> {
    const stream = await S2sStream.connect(from, target, timeoutMs);
    stream.xml.write(streamHeader(from, target.domain));
    await stream.readFeatures();
    return stream;
  }

  /** Opens TCP and sends nothing: for a probe that writes its own (malformed) opening. */
  static async connect(from: string, target: S2sTarget, timeoutMs = 8000): Promise<S2sStream> {
    const stream = new S2sStream(from, target, timeoutMs);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: target.address, port: target.port });
      const timer = setTimeout(() => { s.destroy(); reject(new Error(`TCP connect to ${target.address}:${target.port} timed out`)); }, timeoutMs);
      s.once('connect', () => { clearTimeout(timer); resolve(s); });
      s.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
    stream.xml = new XmlStream(socket, stream.log, `${from}→${target.domain}`);
    return stream;
  }

  /** Whether the server answered with stream features at all (e.g. after a malformed opening). */
  async featuresArrive(timeoutMs = this.timeoutMs): Promise<boolean> {
    return (await this.xml.next((e) => e.name === 'stream:features', timeoutMs)) !== undefined;
  }

  /** The next top-level element matching, e.g. the answer to an IQ. */
  next(match: (el: Element) => boolean, timeoutMs = this.timeoutMs): Promise<Element | undefined> {
    return this.xml.next(match, timeoutMs);
  }

  /**
   * The stream features; a stream error instead (the server refusing the peer, e.g. <not-authorized/> for its
   * certificate) is kept in `refused`. Neither within the wait bound: the harness cannot go on (Error).
   */
  private async readFeatures(): Promise<void> {
    const el = await this.xml.next((e) => e.name === 'stream:features' || e.name === 'stream:error', this.timeoutMs);
    this.features = el?.name === 'stream:features' ? el : undefined;
    if (el?.name === 'stream:error') this.refused = `stream error <${streamErrorCondition(el)}/>`;
    else if (!el && this.closed) this.refused = 'stream closed without features';
    else if (!el) throw new Error(`no stream features from ${this.target.domain} within ${this.timeoutMs} ms`);
  }

  /** How the server refused the stream instead of sending features, if it did. */
  refused?: string;

  get closed(): boolean {
    return this.xml.closed || this.xml.ended;
  }

  offersStarttls(): boolean {
    return this.features?.getChild('starttls', NS_TLS) !== undefined;
  }

  saslMechanisms(): string[] {
    return this.features?.getChild('mechanisms', NS_SASL)?.getChildren('mechanism').map((m) => m.text()) ?? [];
  }

  offersDialback(): boolean {
    return this.features?.getChild('dialback', NS_DIALBACK_FEATURE) !== undefined;
  }

  /** STARTTLS presenting `certificate` as the client certificate, then the restarted stream's features. */
  async starttls(certificate: PeerCertificate, caFile: string): Promise<void> {
    if (!this.offersStarttls()) throw new Error(`${this.target.domain} offers no STARTTLS`);
    const mark = this.xml.elements.length;
    this.xml.write(`<starttls xmlns='${NS_TLS}'/>`);
    const answer = await this.xml.next((el) => el.name === 'proceed' || el.name === 'failure', this.timeoutMs, mark);
    if (answer?.name !== 'proceed') throw new Error(`STARTTLS not answered with <proceed/> (${answer?.name ?? 'nothing'})`);
    const raw = this.xml.socket;
    raw.removeAllListeners('data');
    const tls = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({
        socket: raw, servername: this.target.domain, ca: readFileSync(caFile, 'utf8'), rejectUnauthorized: false,
        cert: readFileSync(certificate.certFile), key: readFileSync(certificate.keyFile),
      });
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    });
    this.log.push(`TLS ${tls.getProtocol()} with ${this.target.domain}; presented ${certificate.certFile}`);
    this.xml.restart(tls);
    this.xml.write(streamHeader(this.from, this.target.domain));
    await this.readFeatures();
  }

  /** SASL EXTERNAL (XEP-0178 §4): resolves with `success`, or the failure condition / what happened instead. */
  async saslExternal(): Promise<string> {
    const mark = this.xml.elements.length;
    this.xml.write(`<auth xmlns='${NS_SASL}' mechanism='EXTERNAL'>${Buffer.from(this.from).toString('base64')}</auth>`);
    const answer = await this.xml.next((el) => ['success', 'failure', 'stream:error'].includes(el.name), this.timeoutMs, mark);
    if (answer?.name === 'success') return 'success';
    if (answer?.name === 'failure') return `failure <${answer.children.find((c): c is Element => typeof c !== 'string')?.name ?? '?'}/>`;
    return answer ? `stream error <${streamErrorCondition(answer)}/>` : (this.closed ? 'stream closed' : 'no answer');
  }

  /**
   * Dialback (XEP-0220 §2.1): <db:result> with a key; the server under test verifies it with the sending domain's
   * authoritative server and answers type valid / invalid / error. Resolves with `valid`, or what happened instead.
   */
  async dialback(key = 'fedconf-dialback-key-0123456789'): Promise<string> {
    const mark = this.xml.elements.length;
    this.xml.write(`<db:result from='${this.from}' to='${this.target.domain}'>${key}</db:result>`);
    const answer = await this.xml.next((el) => el.name === 'db:result' || el.name === 'stream:error', this.timeoutMs, mark);
    if (answer?.name === 'db:result') return answer.attrs.type === 'valid' ? 'valid' : `type='${answer.attrs.type ?? '?'}'${answer.getChild('error') ? ` ${answer.getChild('error')!.toString().slice(0, 200)}` : ''}`;
    return answer ? `stream error <${streamErrorCondition(answer)}/>` : (this.closed ? 'stream closed' : 'no answer');
  }

  /** After authenticating (SASL success needs a stream restart: RFC 6120 §6.4.6). */
  async restartAfterSasl(): Promise<void> {
    const socket = this.xml.socket;
    this.xml.restart(socket);
    this.xml.write(streamHeader(this.from, this.target.domain));
    await this.readFeatures();
  }

  /** Sends raw text (a stanza, or deliberately malformed XML). */
  send(text: string): void {
    this.xml.write(text);
  }

  /** The next stream error, or how the stream ended, within the wait bound: undefined while it stays open. */
  async outcome(timeoutMs = this.timeoutMs): Promise<{ streamError?: string; closed: boolean } | undefined> {
    const el = await this.xml.next((e) => e.name === 'stream:error', timeoutMs);
    if (el) return { streamError: streamErrorCondition(el) ?? '?', closed: this.closed };
    // A server that answers a malformed opening with a bare <stream:error> (no stream header) makes it the document root.
    if (this.xml.header?.name === 'stream:error') return { streamError: streamErrorCondition(this.xml.header) ?? '?', closed: this.closed };
    if (this.closed) return { closed: true };
    return undefined;
  }

  close(): void {
    this.xml.socket.destroy();
  }
}

/**
 * Plays the probe's domain's own s2s listener on <address>:5269: the authoritative server for dialback
 * call-backs (XEP-0220 §2.2) and the receiving end of the server under test's outbound stream, which is where
 * its replies to the probe arrive. STARTTLS with `certificate`, then dialback, answering every <db:verify/> and
 * <db:result/> with type='valid'. It records what the server under test asked and sent, for the evidence.
 */
export class DialbackAuthority {
  readonly log: string[] = [];
  /** How many keys the server under test asked to verify. */
  verifications = 0;
  /** Stanzas the server under test sent to the probe's domain (replies travel on its own outbound stream: RFC 6120 §4.2.8 / XEP-0220). */
  readonly stanzas: Element[] = [];
  private waiters: Array<() => void> = [];

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The first stanza received from the server under test that matches, or undefined after the wait bound. */
  async stanza(match: (el: Element) => boolean, timeoutMs: number): Promise<Element | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.stanzas.find(match);
      if (found || Date.now() > deadline) return found;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(readonly domain: string, readonly address: string, readonly certificate: PeerCertificate) {}

  async start(): Promise<void> {
    const context = createSecureContext({ cert: readFileSync(this.certificate.certFile), key: readFileSync(this.certificate.keyFile) });
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const xml = new XmlStream(socket, this.log, `authority ${this.domain}`);
      let stage: 'plain' | 'tls' = 'plain';
      const respond = async () => {
        const header = await xml.headerArrived(10_000);
        if (!header) return;
        const peer = String(header.attrs.from ?? '');
        const features = stage === 'plain'
          ? `<stream:features><starttls xmlns='${NS_TLS}'><required/></starttls></stream:features>`
          : `<stream:features><dialback xmlns='${NS_DIALBACK_FEATURE}'><errors/></dialback></stream:features>`;
        xml.write(`${streamHeader(this.domain, peer, `fedconf-${Date.now()}`)}${features}`);
      };
      void respond();
      xml.next((el) => el.name === 'starttls', 10_000).then((el) => {
        if (!el) return;
        xml.write(`<proceed xmlns='${NS_TLS}'/>`);
        socket.removeAllListeners('data');
        const tls = new TLSSocket(socket, { isServer: true, secureContext: context });
        stage = 'tls';
        xml.restart(tls);
        void respond();
        // Every later top-level element: dialback requests are vouched for; stanzas are kept for the scenario.
        const handle = async (from: number): Promise<void> => {
          const el2 = await xml.next(() => true, 60_000, from);
          if (!el2) return;
          if (el2.name === 'db:verify' || el2.name === 'db:result') {
            if (el2.name === 'db:verify') this.verifications += 1;
            xml.write(`<${el2.name} from='${this.domain}' to='${el2.attrs.from}' ${el2.attrs.id ? `id='${el2.attrs.id}' ` : ''}type='valid'/>`);
          } else if (['iq', 'message', 'presence'].includes(el2.name)) {
            this.stanzas.push(el2);
            this.wake();
          }
          await handle(xml.elements.indexOf(el2) + 1);
        };
        void handle(0);
      }, () => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(5269, this.address, () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
