import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import type { ChatClient, Conversation } from '../../harness/drivers/driver.ts';
import { breakSignature, SigningKey, type MatrixPeer, type SignedRequestOptions } from '../../harness/probes/matrix-peer.ts';
import { DialbackAuthority, S2sStream } from '../../harness/probes/xmpp-s2s-peer.ts';
import { matrixTargetOf, peerProbeOf, s2sTargetOf, withMatrixPeer } from '../../harness/scenario/peer-probe.ts';
import type { Session } from '../../harness/scenario/scenario.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/**
 * Every refusal below is measured against a positive control from the same probe: the correctly signed
 * request, the correctly signed event, the peer with a lab-CA certificate. If the control fails the probe is
 * broken, not the server: that is an ERROR (plain Error), never FAILED.
 */
async function positiveControl<T>(what: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    throw new Error(`positive control failed (${what}): ${(error as Error).message}; the probe cannot decide`);
  }
}

/** A message with exactly `body` from `sender` reaches `receiver` (for senders that are probes, not clients). */
async function expectFromProbe(receiver: ChatClient, sender: string, body: string, conversation?: Conversation): Promise<void> {
  await receiver.waitFor(
    (e) => e.kind === 'message' && e.sender === sender && e.body === body && (!conversation || e.conversation === conversation.id),
    { description: `the message "${body}" from ${sender}`, timeoutMs: 15_000 },
  );
}

const grace = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function matrixRequestAuthentication(s: Session, peer: MatrixPeer): Promise<string[]> {
  const target = matrixTargetOf(s.lab);
  const alice = await s.user('org-a', 'alice');
  const uri = `/_matrix/federation/v1/query/profile?user_id=${encodeURIComponent(alice.account.address)}`;

  await positiveControl('a request signed with the key probe.test publishes is served', async () => {
    const ok = await peer.request(target, 'GET', uri);
    s.note(`signed GET ${uri} → ${ok.status} ${ok.text.slice(0, 200)}`);
    if (ok.status !== 200) throw new Error(`answered ${ok.status}: ${ok.text.slice(0, 200)}`);
  });

  // Impersonating org-b: its real key id (so the target fetches org-b's real key), signed with the probe's own key.
  const orgB = s.lab.organisations['org-b'];
  const orgBKeys = await peer.request(matrixTargetOf(s.lab, 'org-b'), 'GET', '/_matrix/key/v2/server', undefined, { authorization: false });
  const orgBKeyId = Object.keys((orgBKeys.body as { verify_keys?: Record<string, unknown> }).verify_keys ?? {})[0];
  if (!orgBKeyId) throw new Error(`could not read org-b's key id (${orgBKeys.status} ${orgBKeys.text.slice(0, 200)})`);

  const cases: Array<[string, SignedRequestOptions]> = [
    ['no Authorization header', { authorization: false }],
    [`signed by another key under probe.test's published key id ${peer.key.keyId}`, { key: new SigningKey(peer.key.keyId) }],
    [`claims origin ${orgB.domain} (its key ${orgBKeyId}) but is signed by the probe's key`, { origin: orgB.domain, key: new SigningKey(orgBKeyId) }],
    [`names another destination (${orgB.domain}) in the signed header`, { destination: orgB.domain }],
  ];
  const problems: string[] = [];
  for (const [label, options] of cases) {
    const response = await peer.request(target, 'GET', uri, undefined, options);
    s.note(`${label}: GET ${uri} → ${response.status} ${response.text.slice(0, 300)}`);
    if (response.status >= 200 && response.status < 300) problems.push(`${label}: served (${response.status})`);
    else if (response.status >= 500) problems.push(`${label}: answered ${response.status}, a server error rather than a refusal`);
    else if (response.status !== 401) s.note(`  (refused, with ${response.status} rather than the 401 the specification names)`);
  }
  return problems;
}

async function xmppPeerCertificate(s: Session): Promise<string[]> {
  const probe = peerProbeOf(s.lab);
  const target = s2sTargetOf(s.lab);
  // probe.test's authoritative server for dialback call-backs, presenting the self-signed certificate too.
  const authority = new DialbackAuthority(probe.domain, probe.address, probe.selfSigned);
  await authority.start();
  const problems: string[] = [];
  const streams: S2sStream[] = [];
  try {
    await positiveControl('a peer presenting a lab-CA certificate for probe.test authenticates', async () => {
      const good = await S2sStream.open(probe.domain, target);
      streams.push(good);
      await good.starttls(probe.tls, s.lab.caFile);
      if (good.refused) throw new Error(`refused after TLS: ${good.refused}`);
      const outcome = good.saslMechanisms().includes('EXTERNAL') ? `SASL EXTERNAL ${await good.saslExternal()}` : `dialback ${await good.dialback()}`;
      s.note(`lab-CA certificate: features ${good.features?.toString()} → ${outcome}`);
      if (!/success|valid$/.test(outcome)) throw new Error(outcome);
    });

    const bad = await S2sStream.open(probe.domain, target);
    streams.push(bad);
    await bad.starttls(probe.selfSigned, s.lab.caFile);
    if (bad.refused) {
      s.note(`self-signed certificate: refused right after TLS: ${bad.refused}`);
      return problems;
    }
    s.note(`self-signed certificate: features after TLS ${bad.features?.toString()}`);
    if (bad.saslMechanisms().includes('EXTERNAL')) {
      const sasl = await bad.saslExternal();
      s.note(`self-signed certificate: SASL EXTERNAL → ${sasl}`);
      if (sasl === 'success') problems.push('SASL EXTERNAL succeeded for a peer whose certificate chains to no trusted CA');
    }
    // Dialback is tried whether or not it is advertised: what counts is whether the server trusts it.
    if (!bad.closed && problems.length === 0) {
      const dialback = await bad.dialback();
      s.note(`self-signed certificate: dialback → ${dialback} (the server asked probe.test's authoritative server to verify ${authority.verifications} key(s))`);
      if (dialback === 'valid') {
        problems.push(`a peer whose certificate does not validate (self-signed for ${probe.domain}) was accepted by dialback alone `
          + `(${bad.offersDialback() ? 'dialback advertised after TLS' : 'dialback not advertised, but accepted'})`);
      }
    }
    return problems;
  } finally {
    for (const st of streams) {
      s.note(st.log.join('\n'));
      st.close();
    }
    if (authority.log.length) s.note(authority.log.join('\n'));
    await authority.stop();
  }
}

describe('FED-AUTH: the server authenticates its peers and rejects what it cannot authenticate', () => {
  scenario('a peer that cannot prove who it is is refused (M: unsigned, wrongly signed, impersonating requests; X: a certificate that does not validate, no dialback-only trust)', {
    requirements: ['FED-AUTH'],
    clause: {
      matrix: 'Server-Server API "Request Authentication": "Every HTTP request made by a homeserver is authenticated using public-key digital signatures … '
        + 'The resulting signatures are added as an Authorization header with an auth scheme of X-Matrix"; on destination: "If this property is included, '
        + 'but the value does not match the receiving server\'s name, the receiving server must deny the request with an HTTP status code 401 Unauthorized."',
      xmpp: 'RFC 6120 §13.7.2 / XEP-0178 §4: a server authenticates a peer by its PKIX certificate (SASL EXTERNAL); XEP-0220 (abstract): dialback '
        + '"does not provide strong authentication and is subject to DNS poisoning attacks"; XEP-0344 §1 describes it as "a simple convenient fallback to '
        + 'X.509 Strong Authentication". The catalogue (FED-AUTH, KS 1.6.8) asks for no such fall-back: a peer whose certificate does not validate is refused.',
    },
  }, async (s) => {
    peerProbeOf(s.lab);
    const problems = s.protocol === 'matrix' ? await withMatrixPeer(s, (peer) => matrixRequestAuthentication(s, peer)) : await xmppPeerCertificate(s);
    if (problems.length > 0) throw new ConformanceFailure(problems.join('\n'));
  });

  scenario('content a peer did not sign, or sends for a domain it did not authenticate, is not accepted (M: bad event signature / hash; X: spoofed from)', {
    requirements: ['FED-AUTH'],
    clause: {
      matrix: 'Server-Server API "Checks performed on receipt of a PDU": the receiving server must ensure the event "2. Passes signature checks, otherwise '
        + 'it is dropped. 3. Passes hash checks, otherwise it is redacted before being processed further."',
      xmpp: 'RFC 6120 §4.9.3.9 <invalid-from/>: "The data provided in a \'from\' attribute does not match an authorized JID or validated domain as negotiated '
        + '… between two servers via SASL or Server Dialback"; §8.1.2.1: the receiving server must not accept a stanza whose from is not such a domain.',
    },
  }, async (s) => {
    peerProbeOf(s.lab); // NOT-RUN at once where the lab has no name for the probe peer
    const tag = randomBytes(3).toString('hex');
    const alice = await s.user('org-a', 'alice');
    const problems: string[] = [];
    if (s.protocol === 'matrix') {
      await withMatrixPeer(s, async (peer) => {
        const target = matrixTargetOf(s.lab);
        const { conversation: room } = await alice.createRoom('fedconf FED-AUTH');
        const probeUser = `@probe:${peer.domain}`;
        const joined = await positiveControl('the peer joins a public room on org-a', () => peer.joinRoom(target, room.id, probeUser));
        s.note(`${probeUser} joined ${room.id} (room version ${joined.roomVersion}) with ${joined.joinId}`);

        const forged = peer.message(joined, `forged signature ${tag}`);
        const forgedResult = await peer.sendTransaction(target, [breakSignature(forged.pdu, peer.domain, peer.key.keyId)]);
        s.note(`event ${forged.id} with a broken signature: /send → ${forgedResult.status} ${forgedResult.text.slice(0, 400)}`);

        const hashed = peer.message(joined, `body as hashed and signed ${tag}`);
        const tampered = { ...hashed.pdu, content: { msgtype: 'm.text', body: `body changed after signing ${tag}` } };
        const tamperedResult = await peer.sendTransaction(target, [tampered]);
        s.note(`event ${hashed.id} whose body changed after hashing: /send → ${tamperedResult.status} ${tamperedResult.text.slice(0, 400)}`);

        const good = peer.message(joined, `signed correctly ${tag}`);
        const goodResult = await peer.sendTransaction(target, [good.pdu]);
        s.note(`event ${good.id} signed correctly: /send → ${goodResult.status} ${goodResult.text.slice(0, 400)}`);
        await positiveControl('a correctly signed event from the peer reaches alice', () => expectFromProbe(alice, probeUser, `signed correctly ${tag}`, room));
        await grace(1000);
        const seen = alice.messages(room).filter((m) => m.sender === probeUser);
        s.note(`alice sees from ${probeUser}: ${seen.map((m) => `${m.id} "${m.body}"`).join('; ')}`);
        if (seen.some((m) => m.body.startsWith('forged signature'))) problems.push(`an event with a broken signature (${forged.id}) was accepted and shown to alice`);
        if (seen.some((m) => m.body.startsWith('body changed after signing'))) problems.push(`an event whose content fails its hash (${hashed.id}) was shown with the changed body instead of redacted`);
      });
    } else {
      const probe = peerProbeOf(s.lab);
      const stream = await S2sStream.open(probe.domain, s2sTargetOf(s.lab));
      try {
        await positiveControl('the peer authenticates with its lab-CA certificate and delivers a message from its own domain', async () => {
          await stream.starttls(probe.tls, s.lab.caFile);
          if (stream.refused) throw new Error(`refused after TLS: ${stream.refused}`);
          const sasl = await stream.saslExternal();
          if (sasl !== 'success') throw new Error(`SASL EXTERNAL ${sasl}`);
          await stream.restartAfterSasl();
          stream.send(`<message from='probe@${probe.domain}' to='${alice.account.address}' type='chat' id='good-${tag}'><body>from the authenticated domain ${tag}</body></message>`);
          await expectFromProbe(alice, `probe@${probe.domain}`, `from the authenticated domain ${tag}`);
        });
        const spoofed = `bob@${s.lab.organisations['org-b'].domain}`;
        stream.send(`<message from='${spoofed}' to='${alice.account.address}' type='chat' id='spoof-${tag}'><body>spoofed ${tag}</body></message>`);
        const outcome = await stream.outcome(3000);
        s.note(`message claiming from='${spoofed}' on the stream authenticated as ${probe.domain}: `
          + `${outcome ? `${outcome.streamError ? `stream error <${outcome.streamError}/>` : 'stream closed'}` : 'no stream error within 3 s'}`);
        // waitFor also matches what already arrived; a refused stanza never does.
        const delivered = await alice.waitFor((e) => e.kind === 'message' && e.body === `spoofed ${tag}`, { description: 'the spoofed message', timeoutMs: 2000 })
          .then(() => true, () => false);
        if (delivered) {
          problems.push(`a stanza from ${spoofed}, sent over a stream authenticated only as ${probe.domain}, was delivered to alice`);
        }
      } finally {
        s.note(stream.log.join('\n'));
        stream.close();
      }
    }
    if (problems.length > 0) throw new ConformanceFailure(problems.join('\n'));
  });
});
