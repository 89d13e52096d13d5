import { Resolver } from 'node:dns/promises';
import { describe } from 'vitest';
import { discoverMatrix, discoverXmpp, matrixServerKeys, type DiscoveredEndpoint } from '../../harness/probes/discovery.ts';
import { describeAttempt, plaintextProbe, tlsSurvey, xmppS2sFeatures, type TlsAttempt, type TlsTarget } from '../../harness/probes/tls-handshake.ts';
import type { Session } from '../../harness/scenario/scenario.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';
import type { OrgName } from '../../harness/lab/types.ts';

/** The organisation that runs the product under test (a variant's peers run the stock product). */
const probed: OrgName[] = ['org-a'];

/** Finds the federation endpoint of `org` from its bare domain through the lab DNS only. */
async function discover(s: Session, org: OrgName): Promise<DiscoveredEndpoint> {
  const { domain } = s.lab.organisations[org];
  s.note(`resolving through ${s.lab.dnsAddress ? `the lab DNS ${s.lab.dnsAddress}` : 'the system resolver (the target names no DNS server)'}`);
  let endpoint: DiscoveredEndpoint;
  try {
    endpoint = s.protocol === 'matrix' ? await discoverMatrix(domain, s.lab.dnsAddress, s.lab.caFile) : await discoverXmpp(domain, s.lab.dnsAddress);
  } catch (error) {
    throw new ConformanceFailure(`${domain}: ${(error as Error).message}`);
  }
  s.note(`${domain}: discovery\n  ${endpoint.steps.join('\n  ')}\n  → ${endpoint.host} ${endpoint.address}:${endpoint.port}`);
  return endpoint;
}

/**
 * The organisation's declared federation endpoint (host:port, the host resolved through the lab DNS). FED-TLS
 * probes this one, so a discovery defect (FED-DISCOVERY) does not also count as a transport defect.
 */
async function declaredEndpoint(s: Session, org: OrgName): Promise<DiscoveredEndpoint> {
  const { federationEndpoint, address } = s.lab.organisations[org];
  const match = federationEndpoint.match(/^(.*):(\d+)$/);
  if (!match) throw new Error(`federationEndpoint ${JSON.stringify(federationEndpoint)} is not host:port`);
  const [, host, port] = match as [string, string, string];
  let resolved = address;
  if (s.lab.dnsAddress && !/^[\d.]+$/.test(host)) {
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([s.lab.dnsAddress]);
    resolved = (await resolver.resolve4(host))[0] ?? address;
  }
  const endpoint = { address: resolved, port: Number(port), host, steps: [`declared federation endpoint ${federationEndpoint} → ${resolved}:${port}`] };
  s.note(`${s.lab.organisations[org].domain}: ${endpoint.steps[0]}`);
  return endpoint;
}

function target(s: Session, org: OrgName, endpoint: DiscoveredEndpoint): TlsTarget {
  return { host: endpoint.address, port: endpoint.port, domain: s.lab.organisations[org].domain, caFile: s.lab.caFile, kind: s.protocol === 'matrix' ? 'direct' : 'xmpp-s2s' };
}

/** The probing side itself could not offer that version: the harness cannot decide (ERROR, not a verdict). */
function probeSideLimit(a: TlsAttempt): boolean {
  return !a.accepted && /NO_PROTOCOLS_AVAILABLE|NO_CIPHERS_AVAILABLE|no protocols available/i.test(a.error ?? '');
}

async function survey(s: Session, org: OrgName): Promise<TlsAttempt[]> {
  const endpoint = await declaredEndpoint(s, org);
  const attempts = await tlsSurvey(target(s, org, endpoint));
  s.note(`${s.lab.organisations[org].domain} ${endpoint.address}:${endpoint.port} TLS versions:\n  ${attempts.map(describeAttempt).join('\n  ')}`);
  const limited = attempts.find(probeSideLimit);
  if (limited) throw new Error(`the probe could not offer ${limited.version} itself (${limited.error}); no verdict on the server`);
  return attempts;
}

describe('FED-DISCOVERY: a peer finds the federation endpoint from the bare domain and the server answers with its identity', () => {
  scenario('the federation endpoint is found from the bare domain through DNS and answers with a valid identity', {
    requirements: ['FED-DISCOVERY'],
    clause: {
      matrix: 'Server-Server API §2.1 "Resolving server names": with no port in the server name, a server requests /.well-known/matrix/server, '
        + 'else looks up the SRV record _matrix-fed._tcp.<hostname>, else connects to the hostname on port 8448; §2.3.1 "Publishing Keys": '
        + '"Homeservers publish their signing keys in a JSON object at /_matrix/key/v2/server … signed by the key" with valid_until_ts, '
        + '"the POSIX timestamp when the list of valid keys should be refreshed".',
      xmpp: 'RFC 6120 §3.2.1 "Preferred Process: SRV Lookup": the initiating entity performs a DNS SRV lookup of "_xmpp-server._tcp.<domain>", '
        + 'falling back (§3.2.2) to the domain\'s address on port 5269; §4.3.2 "Stream Features Format": the receiving entity MUST send '
        + 'a response stream header and stream features to the initiating entity.',
    },
  }, async (s) => {
    const problems: string[] = [];
    for (const org of probed) {
      const { domain, address } = s.lab.organisations[org];
      const endpoint = await discover(s, org);
      if (endpoint.address !== address) problems.push(`${domain}: discovery leads to ${endpoint.address}, not to the organisation's server at ${address}`);
      if (s.protocol === 'matrix') {
        let keys;
        try {
          keys = await matrixServerKeys(endpoint, domain, s.lab.caFile);
        } catch (error) {
          const e = error as NodeJS.ErrnoException;
          problems.push(`${domain}: GET /_matrix/key/v2/server on the discovered endpoint ${endpoint.address}:${endpoint.port} failed: ${e.code ?? ''} ${e.message}`);
          continue;
        }
        s.note(`${domain}: /_matrix/key/v2/server server_name=${keys.serverName} valid_until_ts=${keys.validUntilTs} `
          + `(${keys.validUntilTs ? new Date(keys.validUntilTs).toISOString() : '-'}) keys=${keys.keyIds.join(',')} `
          + `signatures=${JSON.stringify(keys.signatures)}\n  ${keys.raw.slice(0, 600)}`);
        problems.push(...keys.problems.map((p) => `${domain}: ${p}`));
      } else {
        let features;
        try {
          features = await xmppS2sFeatures(target(s, org, endpoint));
        } catch (error) {
          problems.push(`${domain}: the discovered endpoint ${endpoint.address}:${endpoint.port} gave no s2s stream: ${(error as Error).message}`);
          continue;
        }
        s.note(`${domain}: s2s stream header from=${features.from ?? '-'} id=${features.id ?? '-'}; features: ${features.raw}`);
        if (features.streamError) problems.push(`${domain}: stream error <${features.streamError}/> instead of stream features`);
        else if (!/<stream:features/.test(features.raw)) problems.push(`${domain}: no <stream:features/> sent`);
        if (features.from !== undefined && features.from !== domain) problems.push(`${domain}: the response stream header says from='${features.from}'`);
        if (!features.starttls) problems.push(`${domain}: the stream features offer no STARTTLS (RFC 6120 §5.3.1)`);
      }
    }
    if (problems.length > 0) throw new ConformanceFailure(problems.join('\n'));
  });
});

describe('FED-TLS: server-to-server transport is TLS ≥ 1.2 with a certificate valid for the domain; older TLS and plaintext are refused', () => {
  // One scenario for the whole row: a server that also accepts TLS 1.0, or lets a peer stay in plaintext, breaks
  // the requirement (answer No); it does not half-meet it. Every version tried and the plaintext probe are in the evidence.
  scenario('the federation endpoint negotiates only TLS 1.2 or 1.3, with a certificate valid for the domain, and refuses TLS 1.0, TLS 1.1 and plaintext', {
    requirements: ['FED-TLS'],
    clause: {
      matrix: 'Server-Server API §2.1 "Resolving server names" / TLS: "Server implementations MUST present a valid TLS certificate for the server name"; '
        + 'federation requests are HTTPS only. RFC 8996 §2–3: TLS 1.0 and TLS 1.1 "MUST NOT be used" (KS 1.10.1: TLS ≥ 1.2).',
      xmpp: 'RFC 6120 §5.3.1 "Mandatory-to-Negotiate": a receiving entity that requires TLS "MUST include an empty <required/> child element" in <starttls/>; '
        + '§13.7 "TLS" and RFC 7590 §3.1: "implementations MUST support and prefer TLS 1.2"; RFC 8996: TLS 1.0 and 1.1 MUST NOT be negotiated (KS 1.10.1: TLS ≥ 1.2).',
    },
  }, async (s) => {
    const problems: string[] = [];
    for (const org of probed) {
      const { domain } = s.lab.organisations[org];
      const attempts = await survey(s, org);
      const modern = attempts.filter((a) => a.accepted && (a.version === 'TLSv1.2' || a.version === 'TLSv1.3'));
      if (modern.length === 0) problems.push(`${domain}: neither TLS 1.2 nor TLS 1.3 accepted`);
      for (const a of modern) if (!a.certificateValid) problems.push(`${domain} ${a.version}: certificate not valid for ${domain}: ${a.certificateError}`);
      for (const a of attempts) {
        if ((a.version === 'TLSv1' || a.version === 'TLSv1.1') && a.accepted) problems.push(`${domain}: accepted a ${a.version} handshake (negotiated ${a.negotiated}, ${a.cipher})`);
      }

      const endpoint = await declaredEndpoint(s, org);
      const plain = await plaintextProbe(target(s, org, endpoint));
      s.note(`${domain} ${endpoint.address}:${endpoint.port} plaintext: ${plain.accepted ? 'ACCEPTED' : 'refused'}: ${plain.detail}`
        + (plain.features ? `\n  features: ${plain.features.raw}` : ''));
      if (plain.features && !plain.features.starttlsRequired) problems.push(`${domain}: STARTTLS is offered without <required/>: a peer may federate unencrypted`);
      else if (plain.accepted) problems.push(`${domain}: plaintext accepted: ${plain.detail}`);
    }
    if (problems.length > 0) throw new ConformanceFailure(problems.join('\n'));
  });
});
