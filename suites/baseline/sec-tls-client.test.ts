import { describe } from 'vitest';
import { resolveEndpoint } from '../../harness/probes/endpoint.ts';
import { clientVersionsOverTls } from '../../harness/probes/matrix-client.ts';
import { describeAttempt, plaintextProbe, tlsSurvey, type TlsAttempt, type TlsTarget } from '../../harness/probes/tls-handshake.ts';
import type { Session } from '../../harness/scenario/scenario.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/**
 * Where clients of org-a connect, as its description declares them. Matrix: clientUrl when it is HTTPS; when
 * it is plain HTTP, the declared TLS client endpoint is where clients connect and clientUrl is the backend
 * behind it (the requirement's "TLS proxy in front", checked here as the proxy). XMPP: the c2s port, where
 * TLS comes by STARTTLS (the lab's servers open no direct-TLS port).
 */
async function clientEndpoints(s: Session, problems: string[]): Promise<TlsTarget[]> {
  const org = s.lab.organisations['org-a'];
  const { domain, caFile } = { domain: org.domain, caFile: s.lab.caFile };
  if (s.protocol === 'xmpp') {
    const c2s = await resolveEndpoint(org.clientUrl, s.lab.dnsAddress, org.address);
    return [{ host: c2s.address, port: c2s.port, domain, caFile, kind: 'xmpp-c2s' }];
  }
  if (org.clientUrl.startsWith('https://')) {
    const direct = await resolveEndpoint(org.clientUrl, s.lab.dnsAddress, org.address);
    return [{ host: direct.address, port: direct.port, domain, caFile, kind: 'direct', plaintextPath: '/_matrix/client/versions' }];
  }
  if (!org.clientTlsEndpoint) {
    problems.push(`${domain}: the client API is served in plaintext at ${org.clientUrl} and no TLS client endpoint is declared`);
    return [];
  }
  s.note(`${domain}: clientUrl ${org.clientUrl} is plain HTTP, declared as the backend behind the TLS client endpoint ${org.clientTlsEndpoint}, which is what clients reach and what is checked here`);
  const tls = await resolveEndpoint(org.clientTlsEndpoint, s.lab.dnsAddress, org.address);
  const served = await clientVersionsOverTls(`https://${tls.address}:${tls.port}`, domain, caFile);
  s.note(`${domain}: GET https://${org.clientTlsEndpoint}/_matrix/client/versions → ${served.status} versions=${served.versions.join(',') || '-'}`);
  if (served.status !== 200 || served.versions.length === 0) problems.push(`${domain}: the declared TLS client endpoint ${org.clientTlsEndpoint} serves no client API (GET /_matrix/client/versions → ${served.status})`);
  return [{ host: tls.address, port: tls.port, domain, caFile, kind: 'direct', plaintextPath: '/_matrix/client/versions' }];
}

/** The probing side itself could not offer that version: the harness cannot decide (ERROR, not a verdict). */
const probeSideLimit = (a: TlsAttempt): boolean => !a.accepted && /NO_PROTOCOLS_AVAILABLE|NO_CIPHERS_AVAILABLE|no protocols available/i.test(a.error ?? '');

describe('SEC-TLS-CLIENT: client connections are TLS ≥ 1.2', () => {
  // One scenario for the row: an endpoint that also accepts TLS 1.0, or lets a client log in unencrypted, breaks
  // the requirement. Every version tried, and what the server offered a client in plaintext, is in the evidence.
  scenario('the client endpoint negotiates only TLS 1.2 or 1.3 with a certificate valid for the domain, and refuses TLS 1.0, TLS 1.1 and plaintext', {
    requirements: ['SEC-TLS-CLIENT'],
    clause: {
      matrix: 'Client-Server API §"API Standards": "HTTPS is recommended for communication. The use of plain HTTP is not recommended outside test environments"; '
        + 'RFC 8996 §2–3: TLS 1.0 and 1.1 "MUST NOT be used" (KS 1.10.1: TLS 1.2 or higher).',
      xmpp: 'RFC 6120 §5.3.1 "Mandatory-to-Negotiate": a server that requires TLS "MUST include an empty <required/> child element" in <starttls/>, '
        + 'and §13.8 / RFC 7590 §3.1: "implementations MUST support and prefer TLS 1.2"; RFC 8996: TLS 1.0 and 1.1 MUST NOT be negotiated '
        + '(KS 1.10.1: TLS 1.2 or higher).',
    },
  }, async (s) => {
    const problems: string[] = [];
    for (const target of await clientEndpoints(s, problems)) {
      const where = `${target.domain} ${target.host}:${target.port} (${target.kind === 'xmpp-c2s' ? 'c2s, STARTTLS' : 'client API, direct TLS'})`;
      const attempts = await tlsSurvey(target);
      s.note(`${where} TLS versions:\n  ${attempts.map(describeAttempt).join('\n  ')}`);
      const limited = attempts.find(probeSideLimit);
      if (limited) throw new Error(`the probe could not offer ${limited.version} itself (${limited.error}); no verdict on the server`);
      const modern = attempts.filter((a) => a.accepted && (a.version === 'TLSv1.2' || a.version === 'TLSv1.3'));
      if (modern.length === 0) problems.push(`${where}: neither TLS 1.2 nor TLS 1.3 accepted`);
      for (const a of modern) if (!a.certificateValid) problems.push(`${where} ${a.version}: certificate not valid for ${target.domain}: ${a.certificateError}`);
      for (const a of attempts) {
        if ((a.version === 'TLSv1' || a.version === 'TLSv1.1') && a.accepted) problems.push(`${where}: accepted a ${a.version} handshake (negotiated ${a.negotiated}, ${a.cipher})`);
      }
      const plain = await plaintextProbe(target);
      s.note(`${where} plaintext: ${plain.accepted ? 'ACCEPTED' : 'refused'}: ${plain.detail}${plain.features ? `\n  features before TLS: ${plain.features.raw}` : ''}`);
      if (plain.accepted) problems.push(`${where}: a client can proceed without TLS: ${plain.detail}`);
    }
    if (problems.length > 0) throw new ConformanceFailure(problems.join('\n'));
  });
});
