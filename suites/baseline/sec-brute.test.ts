import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import type { Account } from '../../harness/drivers/driver.ts';
import { resolveEndpoint } from '../../harness/probes/endpoint.ts';
import { describe as describeAnswer, passwordLogin } from '../../harness/probes/matrix-client.ts';
import { loginAttempt, type AuthAttempt, type C2sTarget } from '../../harness/probes/xmpp-c2s.ts';
import { provisionAccount } from '../../harness/provisioning/index.ts';
import type { Session } from '../../harness/scenario/scenario.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/**
 * Wrong-password logins for one account, one after the other, each on a new connection, before the scenario
 * gives up waiting for throttling: more than ejabberd's stock mod_fail2ban threshold (c2s_max_auth_failures: 20)
 * and Dendrite's stock request limit (20 requests per 500 ms).
 */
const attempts = 25;

const wrongPassword = (): string => `wrong-${randomBytes(9).toString('base64url')}`;

/**
 * A source address of its own for the XMPP attempts (an unused loopback address in org-a's block), so that a
 * server which bans the source address after failed logins bans only the probe, not the rest of the run.
 */
function probeSource(address: string): string | undefined {
  const octets = address.split('.');
  return octets.length === 4 && octets[0] === '127' ? [...octets.slice(0, 3), '250'].join('.') : undefined;
}

async function matrixBruteForce(s: Session, account: Account): Promise<string | undefined> {
  const { clientUrl } = account.org;
  const times: number[] = [];
  for (let i = 1; i <= attempts; i++) {
    const answer = await passwordLogin(clientUrl, account.localpart, wrongPassword(), {}, true);
    s.note(`attempt ${i} (wrong password): ${describeAnswer(answer)}`);
    times.push(answer.ms);
    const baseline = [...times.slice(0, 3)].sort((a, b) => a - b)[Math.min(1, times.length - 1)]!;
    const delayed = i > 3 && answer.ms > Math.max(1000, 10 * baseline);
    if (answer.status === 429 || answer.errcode === 'M_LIMIT_EXCEEDED' || delayed) {
      const right = await passwordLogin(clientUrl, account.localpart, account.password);
      s.note(`then the right password at once: ${describeAnswer(right)}`);
      return delayed && answer.status !== 429 ? `throttled at attempt ${i}: answered after ${answer.ms} ms (first attempts: ${baseline} ms)`
        : `throttled at attempt ${i}: ${answer.status} ${answer.errcode ?? ''} retry_after_ms=${answer.retryAfterMs ?? '-'}`;
    }
    if (answer.status === 200) throw new Error(`a wrong password was accepted for ${account.address}; the probe's premise is broken`);
  }
  return undefined;
}

/** Throttling as an XMPP client meets it: the server refuses, bans, or slows down after failures. */
function throttledBy(attempt: AuthAttempt, baselineMs: number): string | undefined {
  if (attempt.outcome !== 'failure') return `${attempt.outcome}${attempt.condition ? ` <${attempt.condition}/>` : ''}${attempt.text ? `: ${attempt.text}` : ''}`;
  if (attempt.condition !== 'not-authorized') return `SASL failure <${attempt.condition}/>${attempt.text ? `: ${attempt.text}` : ''}`;
  if (attempt.ms > Math.max(1000, 10 * baselineMs)) return `answered after ${attempt.ms} ms (first attempts: ${baselineMs} ms)`;
  return undefined;
}

async function xmppBruteForce(s: Session, account: Account): Promise<string | undefined> {
  const org = account.org;
  const c2s = await resolveEndpoint(org.clientUrl, s.lab.dnsAddress, org.address);
  const source = probeSource(c2s.address);
  const target: C2sTarget = { host: c2s.address, port: c2s.port, domain: org.domain, caFile: s.lab.caFile, ...(source ? { localAddress: source } : {}) };
  s.note(`c2s ${c2s.address}:${c2s.port}, each attempt a new connection (STARTTLS, SASL PLAIN) from ${source ?? 'the default source address'}`);
  const times: number[] = [];
  for (let i = 1; i <= attempts; i++) {
    const attempt = await loginAttempt(target, account.localpart, wrongPassword());
    s.note(`attempt ${i} (wrong password): ${attempt.outcome}${attempt.condition ? ` <${attempt.condition}/>` : ''}${attempt.text ? ` "${attempt.text}"` : ''} (${attempt.ms} ms)`);
    times.push(attempt.ms);
    const baseline = [...times.slice(0, 3)].sort((a, b) => a - b)[Math.min(1, times.length - 1)]!;
    const throttled = i > 1 ? throttledBy(attempt, baseline) : undefined;
    if (throttled) {
      const right = await loginAttempt(target, account.localpart, account.password);
      s.note(`then the right password from the same address: ${right.outcome}${right.condition ? ` <${right.condition}/>` : ''} (${right.ms} ms)`);
      return `throttled at attempt ${i}: ${throttled}`;
    }
    if (attempt.outcome === 'success') throw new Error(`a wrong password was accepted for ${account.address}; the probe's premise is broken`);
  }
  return undefined;
}

describe('SEC-BRUTE: repeated failed logins are throttled', () => {
  scenario('repeated wrong-password logins for one account are throttled', {
    requirements: ['SEC-BRUTE'],
    clause: {
      matrix: 'Client-Server API §"Rate limiting": "Homeservers SHOULD implement rate limiting to reduce the risk of being overloaded. If a request '
        + 'is refused due to rate limiting, it should return a standard error response of the form" M_LIMIT_EXCEEDED with retry_after_ms; '
        + 'POST /_matrix/client/v3/login lists 429 "This request was rate-limited" (KS i.4: protection against password guessing).',
      xmpp: 'RFC 6120 §6.4.5 "SASL Failure": "The receiving entity SHOULD allow a configurable but reasonable number of retries (at least 2 and '
        + 'no more than 5)"; §6.5.13 <temporary-auth-failure/> (KS i.4: protection against password guessing).',
    },
  }, async (s) => {
    // The lab relaxes rate limits so other scenarios never wait; this one runs org-a with its stock limits.
    const reconfigured = s.lab.controls.includes('reconfigure');
    if (reconfigured) {
      await s.control('reconfigure', 'org-a', { stockRateLimits: true });
      s.note('org-a restarted with the product\'s stock rate limits (the lab\'s relaxations off: Synapse rc_*, Dendrite rate_limiting, ejabberd shapers; Prosody has none)');
    } else {
      s.note('the deployment runs with its own limits (the lab cannot reconfigure it)');
    }
    try {
      const org = s.lab.organisations['org-a'];
      const account = await provisionAccount(org, `brute-${randomBytes(3).toString('hex')}`);
      s.note(`account ${account.address}; ${attempts} wrong-password attempts at most, one after the other, each on a new connection`);
      const started = Date.now();
      const throttled = s.protocol === 'matrix' ? await matrixBruteForce(s, account) : await xmppBruteForce(s, account);
      if (!throttled) {
        throw new ConformanceFailure(`${org.domain}: ${attempts} wrong-password logins for ${account.address} `
          + `in ${Date.now() - started} ms, none refused, delayed or rate-limited`);
      }
      s.note(throttled);
    } finally {
      if (reconfigured) await s.control('reconfigure', 'org-a', {});
    }
  });
});
