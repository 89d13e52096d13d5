import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import type { ChatClient, Conversation } from '../../harness/drivers/driver.ts';
import type { JoinedRoom, MatrixPeer, PeerResponse } from '../../harness/probes/matrix-peer.ts';
import { DialbackAuthority, S2sStream } from '../../harness/probes/xmpp-s2s-peer.ts';
import { matrixTargetOf, orgBPath, peerProbeOf, s2sTargetOf, withMatrixPeer } from '../../harness/scenario/peer-probe.ts';
import type { Session } from '../../harness/scenario/scenario.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/**
 * Each scenario sends one kind of bad input from a probe that plays a federation peer (probe.test), checks it
 * is refused, then checks the server still serves: org-b's messages still reach org-a (set up and proven
 * before the bad input, so a broken path is the harness's ERROR, not a verdict) and, for Matrix, the probe's
 * own correctly signed events are still accepted.
 */

const note = (r: PeerResponse) => `${r.status} ${r.text.slice(0, 300)}`;

/** A request-level refusal: a 4xx answer. 2xx means it was taken; 5xx means the server failed on it instead of refusing it. */
function requestRefused(label: string, r: PeerResponse, problems: string[]): void {
  if (r.status >= 200 && r.status < 300) problems.push(`${label}: accepted (${r.status})`);
  else if (r.status >= 500) problems.push(`${label}: answered ${r.status} ${r.text.slice(0, 200)}: an internal server error, not a rejection of the input (M_BAD_JSON / M_NOT_JSON, 400)`);
}

interface MatrixSetUp {
  peer: MatrixPeer;
  joined: JoinedRoom;
  alice: ChatClient;
  room: Conversation;
  probeUser: string;
  /** The peer sends a correctly signed message that must reach alice. */
  probeStillHeard: (label: string, control?: boolean) => Promise<void>;
}

/** org-b's path, then the Matrix peer joined to the same room on org-a, proven to be heard before any bad input. */
async function matrixSetUp(s: Session, peer: MatrixPeer, room: Conversation, alice: ChatClient): Promise<MatrixSetUp> {
  const target = matrixTargetOf(s.lab);
  const probeUser = `@probe:${peer.domain}`;
  let joined: JoinedRoom;
  try {
    joined = await peer.joinRoom(target, room.id, probeUser);
  } catch (error) {
    throw new Error(`the probe peer could not join org-a's room (${(error as Error).message}); no verdict`);
  }
  s.note(`${probeUser} joined ${room.id} (room version ${joined.roomVersion})`);
  let n = 0;
  const probeStillHeard = async (label: string, control = false) => {
    n += 1;
    const body = `probe still heard (${n}: ${label})`;
    const { pdu, id } = peer.message(joined, body);
    const r = await peer.sendTransaction(target, [pdu]);
    s.note(`correctly signed ${id} after ${label}: /send → ${note(r)}`);
    try {
      await alice.waitFor((e) => e.kind === 'message' && e.sender === probeUser && e.body === body, { description: `"${body}" from ${probeUser}`, timeoutMs: 15_000 });
    } catch (error) {
      if (control) throw new Error(`positive control failed: ${(error as Error).message}; no verdict`);
      throw new ConformanceFailure(`the server no longer accepts a correctly signed event from the peer after ${label}: ${(error as Error).message}`);
    }
    joined.lastEventId = id;
  };
  await probeStillHeard('set-up, before any bad input', true);
  return { peer, joined, alice, room, probeUser, probeStillHeard };
}

/** `body` never reached alice from the probe (checked after the probe's next good message arrived). */
function neverShown(m: MatrixSetUp, prefix: string): boolean {
  return !m.alice.messages(m.room).some((e) => e.sender === m.probeUser && e.body.startsWith(prefix));
}

/** An XMPP stream error (or the stream closing) within the bound, as the refusal RFC 6120 asks for. */
async function streamRefusal(s: Session, stream: S2sStream, label: string, problems: string[], timeoutMs = 5000): Promise<void> {
  const outcome = await stream.outcome(timeoutMs);
  s.note(`${label}: ${outcome ? (outcome.streamError ? `stream error <${outcome.streamError}/>` : 'stream closed without a stream error') : `stream still open, no error within ${timeoutMs} ms`}`);
  if (!outcome) problems.push(`${label}: no stream error, the stream stayed open`);
  else if (!outcome.streamError) problems.push(`${label}: the stream was closed without the stream error RFC 6120 asks for`);
}

type Probe = ReturnType<typeof peerProbeOf>;
type OrgBPath = Awaited<ReturnType<typeof orgBPath>>;

/** One kind of bad input, sent by each protocol's probe; what was wrong with the server's answer goes to `problems`. */
interface BadInput {
  /** Names the input in the after-check of org-b's path. */
  label: string;
  matrix: (s: Session, m: MatrixSetUp, problems: string[]) => Promise<void>;
  xmpp: (s: Session, probe: Probe, path: OrgBPath, problems: string[]) => Promise<void>;
}

/**
 * The steps every SEC-BAD-INPUT scenario shares: org-b's path to org-a proven first, the probe's bad input, then
 * org-b's path again (the server keeps serving) and one FAILED naming every problem.
 */
function badInputScenario(title: string, clause: { matrix: string; xmpp: string }, input: BadInput): void {
  scenario(title, { requirements: ['SEC-BAD-INPUT'], clause }, async (s) => {
    const probe = peerProbeOf(s.lab); // NOT-RUN at once where the lab has no name for the probe peer
    const path = await orgBPath(s);
    const problems: string[] = [];
    if (s.protocol === 'matrix') {
      await withMatrixPeer(s, async (peer) => input.matrix(s, await matrixSetUp(s, peer, path.room, path.alice), problems));
    } else {
      await input.xmpp(s, probe, path, problems);
    }
    await path.check(input.label);
    if (problems.length > 0) throw new ConformanceFailure(problems.join('\n'));
  });
}

describe('SEC-BAD-INPUT: malformed federation traffic is rejected with an error and the server keeps serving', () => {
  badInputScenario('input that does not parse (M: invalid JSON in a transaction; X: XML that is not well-formed) is rejected, and the server keeps serving', {
    matrix: 'Client-Server API "Standard error response" (used by the Server-Server API): M_NOT_JSON "Request did not contain valid JSON", '
      + 'returned with 400; OWASP input validation (KS i.9.14).',
    xmpp: 'RFC 6120 §11.1 "XML Restrictions" / §4.9.3.13 <not-well-formed/>: an entity that receives data that is not well-formed XML '
      + '"MUST close the stream with a <not-well-formed/> stream error".',
  }, {
    label: 'input that does not parse',
    matrix: async (s, m, problems) => {
      const r = await m.peer.request(matrixTargetOf(s.lab), 'PUT', `/_matrix/federation/v1/send/bad-json-${Date.now()}`, undefined,
        { rawBody: `{"origin": "${m.peer.domain}", "pdus": [{"type": "m.room.message",` });
      s.note(`PUT /send with truncated JSON → ${note(r)}`);
      requestRefused('a transaction that is not valid JSON', r, problems);
      await m.probeStillHeard('invalid JSON');
    },
    xmpp: async (s, probe, path, problems) => {
      const stream = await S2sStream.open(probe.domain, s2sTargetOf(s.lab));
      try {
        stream.send(`<message from='probe@${probe.domain}' to='${path.alice.account.address}'><body>never closed</message>`);
        await streamRefusal(s, stream, 'an element closed by the wrong end tag', problems);
      } finally {
        s.note(stream.log.join('\n'));
        stream.close();
      }
    },
  });

  badInputScenario('input with wrong types (M: a transaction whose pdus is not a list, an event whose depth is a string; X: an IQ with an invalid type) is rejected, and the server keeps serving', {
    matrix: 'Server-Server API "Transactions" (pdus: [PDU], required) and "Checks performed on receipt of a PDU": "1. Is a valid event, otherwise it is dropped. '
      + 'For an event to be valid, it must … comply with the event format of that room version"; M_BAD_JSON "Request contained valid JSON, but it was malformed in some way".',
    xmpp: 'RFC 6120 §8.2.3: the IQ type attribute is REQUIRED and its value is one of get, set, result or error; §8.3.3.1 <bad-request/>: the sender has sent '
      + 'a stanza containing XML that does not conform to the appropriate schema. The catalogue asks for an error: a stanza error or a stream error.',
  }, {
    label: 'input with wrong types',
    matrix: async (s, m, problems) => {
      const tag = randomBytes(3).toString('hex');
      const target = matrixTargetOf(s.lab);
      const r = await m.peer.request(target, 'PUT', `/_matrix/federation/v1/send/pdus-string-${tag}`, { origin: m.peer.domain, origin_server_ts: Date.now(), pdus: 'not a list', edus: [] });
      s.note(`PUT /send with "pdus": "not a list" → ${note(r)}`);
      requestRefused('a transaction whose pdus is a string', r, problems);

      const { pdu, id } = m.peer.message(m.joined, `depth is a string ${tag}`, { depth: 'ten' });
      const r2 = await m.peer.sendTransaction(target, [pdu]);
      s.note(`event ${id} with "depth": "ten" → ${note(r2)}`);
      await m.probeStillHeard('an event with a string depth');
      if (!neverShown(m, 'depth is a string')) problems.push(`an event whose depth is a string (${id}) was accepted and shown to alice`);
    },
    xmpp: async (s, probe, _path, problems) => {
      const tag = randomBytes(3).toString('hex');
      // Replies to the probe come back on org-a's own outbound stream to probe.test, which this listener receives.
      const inbound = new DialbackAuthority(probe.domain, probe.address, probe.tls);
      await inbound.start();
      const stream = await S2sStream.open(probe.domain, s2sTargetOf(s.lab));
      try {
        await stream.starttls(probe.tls, s.lab.caFile);
        const sasl = stream.refused ?? await stream.saslExternal();
        if (sasl !== 'success') throw new Error(`the probe could not authenticate with its lab-CA certificate (${sasl}); no verdict`);
        await stream.restartAfterSasl();
        const orgA = s.lab.organisations['org-a'].domain;
        // Positive control: the same IQ with a valid type is answered, so silence below is the server's choice.
        stream.send(`<iq type='get' id='ping-${tag}' from='${probe.domain}' to='${orgA}'><ping xmlns='urn:xmpp:ping'/></iq>`);
        const pong = await inbound.stanza((e) => e.name === 'iq' && e.attrs.id === `ping-${tag}`, 10_000);
        s.note(`IQ type='get' (ping) → ${pong?.toString().slice(0, 300) ?? 'no answer'}`);
        if (!pong) throw new Error('positive control failed: a valid ping IQ over the authenticated stream got no answer; no verdict');
        stream.send(`<iq type='fetch' id='wrong-type-${tag}' from='${probe.domain}' to='${orgA}'><ping xmlns='urn:xmpp:ping'/></iq>`);
        const [reply, streamEnd] = await Promise.all([
          inbound.stanza((e) => e.name === 'iq' && e.attrs.id === `wrong-type-${tag}`, 5000),
          stream.outcome(5000),
        ]);
        s.note(`IQ type='fetch' → ${reply ? reply.toString().slice(0, 400) : streamEnd ? (streamEnd.streamError ? `stream error <${streamEnd.streamError}/>` : 'stream closed') : 'no answer within 5 s'}`);
        if (reply && reply.attrs.type !== 'error') problems.push(`an IQ with type='fetch' was processed and answered type='${reply.attrs.type}'`);
        else if (!reply && !streamEnd) problems.push(`an IQ with type='fetch' was dropped silently: neither a stanza error (<bad-request/>) nor a stream error within 5 s`);
      } finally {
        s.note(stream.log.join('\n'));
        s.note(inbound.log.join('\n'));
        stream.close();
        await inbound.stop();
      }
    },
  });

  badInputScenario('oversized or expanding input (M: an event over 65 536 bytes; X: a DTD with nested entity expansion) is rejected, and the server keeps serving', {
    matrix: 'Server-Server API "Size limits" (room events): "The complete event MUST NOT be larger than 65536 bytes, when formatted with the federation event format, '
      + 'including any signatures, and encoded as Canonical JSON"; "Checks performed on receipt of a PDU": an invalid event "is dropped".',
    xmpp: 'RFC 6120 §11.1 "XML Restrictions": the XML used in XMPP MUST NOT contain a document type declaration or entity declarations; an entity that receives them '
      + '"MUST close the stream with a <restricted-xml/> stream error"; OWASP XML entity expansion ("billion laughs", KS i.9.14).',
  }, {
    label: 'oversized or expanding input',
    matrix: async (s, m, problems) => {
      const tag = randomBytes(3).toString('hex');
      const { pdu, id } = m.peer.message(m.joined, `oversized ${tag} ${'x'.repeat(70_000)}`);
      const r = await m.peer.sendTransaction(matrixTargetOf(s.lab), [pdu]);
      s.note(`event ${id} of ${JSON.stringify(pdu).length} bytes → ${note(r)}`);
      await m.probeStillHeard('an oversized event');
      if (!neverShown(m, `oversized ${tag}`)) problems.push(`an event of ${JSON.stringify(pdu).length} bytes (${id}) was accepted and shown to alice`);
    },
    xmpp: async (s, probe, path, problems) => {
      const stream = await S2sStream.connect(probe.domain, s2sTargetOf(s.lab));
      try {
        const entities = ['<!ENTITY l0 "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`)].join('');
        stream.send(`<?xml version='1.0'?><!DOCTYPE stream:stream [${entities}]>`
          + `<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' from='${probe.domain}' to='${s.lab.organisations['org-a'].domain}' version='1.0'>`
          + `<message from='probe@${probe.domain}' to='${path.alice.account.address}'><body>&l9;</body></message>`);
        const features = await stream.featuresArrive(3000);
        if (features) problems.push('the server accepted a stream that opens with a DTD and entity declarations (sent stream features)');
        await streamRefusal(s, stream, 'a stream opening with a DTD declaring nested entities (10⁹ expansions)', problems);
      } finally {
        s.note(stream.log.join('\n'));
        stream.close();
      }
    },
  });
});
