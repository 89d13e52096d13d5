/**
 * Federation reach probes: each tries one federation endpoint from a user on one organisation towards another
 * organisation, using only what a real client on the sending side can trigger (its own server then makes the
 * federation request), and says whether anything got through. FED-POLICY runs them towards an allowed peer
 * (must get through) and a non-listed one (must not), in both directions.
 */
import { randomBytes } from 'node:crypto';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { request } from 'undici';
import type { ChatClient, ChatEvent, Conversation } from '../drivers/driver.ts';
import { clientApiAccess } from '../drivers/matrix.ts';
import { stanzaSession } from '../drivers/xmpp.ts';
import type { Protocol } from '../lab/types.ts';
import { ConformanceFailure } from '../verdict/failure.ts';

/** Who a probe works with: `from` tries to reach `to`'s organisation. */
export interface ReachPair {
  from: ChatClient;
  /** Someone on the other organisation who shares `shared` with `from` (set up while federation was open). */
  to: ChatClient;
  shared: { fromSide: Conversation; toSide: Conversation };
  /** Someone on the other organisation who shares nothing with `from` (so no server answers from a cache). */
  stranger: ChatClient;
  /** How long to wait for something to arrive before calling it "did not get through". */
  waitMs: number;
}

export interface ReachOutcome {
  reached: boolean;
  detail: string;
}

export interface ReachProbe {
  /** The federation endpoint exercised, as the report names it. */
  endpoint: string;
  attempt(pair: ReachPair): Promise<ReachOutcome>;
}

const tag = () => randomBytes(3).toString('hex');

/** Whether `client` receives an event matching `match` within `ms` (past events included). */
export async function arrives(client: ChatClient, match: (e: ChatEvent) => boolean, ms: number): Promise<boolean> {
  try {
    await client.waitFor(match, { description: 'a probe\'s traffic', timeoutMs: ms });
    return true;
  } catch (error) {
    if (error instanceof ConformanceFailure) return false;
    throw error;
  }
}

/** Runs a client step; the server refusing it (ConformanceFailure) is an answer, returned as text. */
async function refusalOf(step: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await step();
    return undefined;
  } catch (error) {
    if (error instanceof ConformanceFailure) return error.message;
    throw error;
  }
}

const messageProbe = (endpoint: string): ReachProbe => ({
  endpoint,
  async attempt({ from, to, shared, waitMs }) {
    const body = `policy probe ${tag()}`;
    const refused = await refusalOf(() => from.send(shared.fromSide, body));
    const got = await arrives(to, (e) => e.kind === 'message' && e.conversation === shared.toSide.id && e.body === body, waitMs);
    return { reached: got, detail: got ? `"${body}" arrived` : `"${body}" did not arrive within ${waitMs} ms${refused ? `; ${refused}` : ''}` };
  },
});

const roomJoinProbe = (endpoint: string): ReachProbe => ({
  endpoint,
  async attempt({ from, to }) {
    const { ref } = await to.createRoom(`policy-${tag()}`);
    const refused = await refusalOf(() => from.joinRoom(ref));
    return { reached: !refused, detail: refused ? `join of ${ref} refused: ${refused}` : `joined ${ref}` };
  },
});

// ---------------------------------------------------------------------------------------------
// Matrix: the client-server requests that make the user's own server call the other server.

async function clientApi(chat: ChatClient, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const { baseUrl, accessToken } = clientApiAccess(chat);
  const response = await request(`${baseUrl}${path}`, {
    method, headers: { authorization: `Bearer ${accessToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}), headersTimeout: 30_000, bodyTimeout: 30_000,
  });
  const text = await response.body.text();
  let json: Record<string, unknown> = {};
  try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON: kept as text */ }
  return { status: response.statusCode, json, text: text.slice(0, 300) };
}

const matrixProbes: ReachProbe[] = [
  {
    endpoint: 'invite (PUT /_matrix/federation/v2/invite)',
    async attempt({ from, to, waitMs }) {
      const since = Date.now();
      let room: string | undefined;
      const refused = await refusalOf(async () => { room = (await from.openDirect(to.account.address)).id; });
      const got = await arrives(to, (e) => e.kind === 'invite' && e.sender === from.account.address && e.receivedAt >= since
        && (room === undefined || e.conversation === room), waitMs);
      return { reached: got, detail: got ? 'the invitation arrived' : `no invitation arrived within ${waitMs} ms${refused ? `; ${refused}` : ''}` };
    },
  },
  roomJoinProbe('make_join / send_join (a room hosted by the other server)'),
  messageProbe('transactions (PUT /_matrix/federation/v1/send: a message in a room both had joined before)'),
  {
    endpoint: 'profile query (GET /_matrix/federation/v1/query/profile)',
    async attempt({ from, stranger }) {
      const answer = await clientApi(from, 'GET', `/_matrix/client/v3/profile/${encodeURIComponent(stranger.account.address)}`);
      return { reached: answer.status === 200, detail: `profile of ${stranger.account.address}: HTTP ${answer.status} ${answer.text}` };
    },
  },
  {
    endpoint: 'key query (POST /_matrix/federation/v1/user/keys/query)',
    async attempt({ from, stranger }) {
      const user = stranger.account.address;
      const answer = await clientApi(from, 'POST', '/_matrix/client/v3/keys/query', { device_keys: { [user]: [] } });
      const failures = (answer.json.failures ?? {}) as Record<string, unknown>;
      const keys = (answer.json.device_keys ?? {}) as Record<string, unknown>;
      const reached = answer.status === 200 && Object.keys(failures).length === 0 && user in keys;
      return { reached, detail: `keys of ${user}: HTTP ${answer.status} ${answer.text}` };
    },
  },
  {
    endpoint: 'media download (GET /_matrix/federation/v1/media/download)',
    async attempt({ from, to }) {
      const bytes = randomBytes(48);
      const upload = clientApiAccess(to);
      const uploaded = await request(`${upload.baseUrl}/_matrix/media/v3/upload?filename=probe.bin`, {
        method: 'POST', body: bytes, headers: { authorization: `Bearer ${upload.accessToken}`, 'content-type': 'application/octet-stream' },
      });
      const { content_uri: uri } = await uploaded.body.json() as { content_uri?: string };
      if (uploaded.statusCode !== 200 || !uri?.startsWith('mxc://')) throw new Error(`${to.account.address} could not upload a file: HTTP ${uploaded.statusCode}`);
      const { baseUrl, accessToken } = clientApiAccess(from);
      const response = await request(`${baseUrl}/_matrix/client/v1/media/download/${uri.slice('mxc://'.length)}`, {
        headers: { authorization: `Bearer ${accessToken}` }, headersTimeout: 30_000, bodyTimeout: 30_000,
      });
      const got = Buffer.from(await response.body.arrayBuffer());
      const reached = response.statusCode === 200 && got.equals(bytes);
      return { reached, detail: `download of ${uri} through ${from.account.org.domain}: HTTP ${response.statusCode}${reached ? ', same bytes' : ` ${got.toString('utf8').slice(0, 200)}`}` };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// XMPP: stanzas the user's own server routes over s2s.

const xmppProbes: ReachProbe[] = [
  messageProbe('1:1 message (<message type="chat"> over s2s)'),
  {
    endpoint: 'presence subscription (<presence type="subscribe"> over s2s)',
    async attempt({ from, to, waitMs }) {
      const sender = from.account.address;
      const seen = new Promise<boolean>((resolve) => {
        const session = stanzaSession(to);
        const timer = setTimeout(() => { session.off('stanza', listen); resolve(false); }, waitMs);
        function listen(stanza: Element) {
          if (stanza.is('presence') && stanza.attrs.type === 'subscribe' && String(stanza.attrs.from ?? '').split('/')[0] === sender) {
            clearTimeout(timer);
            session.off('stanza', listen);
            resolve(true);
          }
        }
        session.on('stanza', listen);
      });
      await stanzaSession(from).send(xml('presence', { type: 'subscribe', to: to.account.address }));
      const got = await seen;
      return { reached: got, detail: got ? 'the subscription request arrived' : `no subscription request arrived within ${waitMs} ms` };
    },
  },
  {
    endpoint: 'IQ (XEP-0092 software version of the other server)',
    async attempt({ from, to, waitMs }) {
      const domain = to.account.org.domain;
      try {
        const reply = await stanzaSession(from).iqCaller.request(xml('iq', { type: 'get', to: domain }, xml('query', { xmlns: 'jabber:iq:version' })), waitMs);
        return { reached: true, detail: `${domain} answered: ${reply.toString().slice(0, 200)}` };
      } catch (error) {
        return { reached: false, detail: `no answer from ${domain}: ${error instanceof Error ? `${error.name} ${error.message}` : String(error)}` };
      }
    },
  },
  roomJoinProbe('MUC join (XEP-0045 §7.2, a room on the other server\'s MUC service)'),
];

/** Every federation endpoint a client can make its server use, per protocol. */
export function reachProbes(protocol: Protocol): ReachProbe[] {
  return protocol === 'matrix' ? matrixProbes : xmppProbes;
}
