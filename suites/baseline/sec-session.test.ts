import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import type { Account } from '../../harness/drivers/driver.ts';
import { resolveEndpoint } from '../../harness/probes/endpoint.ts';
import { describe as describeAnswer, logout, passwordLogin, whoami } from '../../harness/probes/matrix-client.ts';
import { openSession } from '../../harness/probes/xmpp-c2s.ts';
import { endXmppSession, provisionAccount } from '../../harness/provisioning/index.ts';
import type { Session } from '../../harness/scenario/scenario.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, NotTestable } from '../../harness/verdict/failure.ts';

/** How long the server may take to end an XMPP session after the operator's command. */
const endBoundMs = 10_000;

/**
 * Matrix: the session (access token) is revoked by logging out; afterwards the token is refused. Whether the
 * server also offers expiring tokens (refresh tokens, `expires_in_ms`) is recorded as evidence: the configured
 * lifetime itself (Synapse `session_lifetime`, `refreshable_access_token_lifetime`) is an operator setting a
 * person checks in the deployment's configuration.
 */
async function matrixRevocation(s: Session, account: Account): Promise<void> {
  const { clientUrl, domain } = account.org;
  const login = await passwordLogin(clientUrl, account.localpart, account.password);
  s.note(`login: ${describeAnswer(login)}`);
  const token = login.body.access_token;
  if (login.status !== 200 || typeof token !== 'string') throw new Error(`login for ${account.address} failed: ${describeAnswer(login)}`);
  const before = await whoami(clientUrl, token);
  s.note(`whoami with the token: ${describeAnswer(before)}`);
  if (before.status !== 200) throw new Error(`a fresh token was refused: ${describeAnswer(before)}`);
  const out = await logout(clientUrl, token);
  s.note(`logout: ${describeAnswer(out)}`);
  if (out.status !== 200) throw new ConformanceFailure(`${domain}: POST /logout was refused: ${describeAnswer(out)}`);
  const after = await whoami(clientUrl, token);
  s.note(`whoami with the logged-out token: ${describeAnswer(after)}`);
  if (after.status !== 401 || after.errcode !== 'M_UNKNOWN_TOKEN') {
    throw new ConformanceFailure(`${domain}: the token still works after logout (whoami → ${describeAnswer(after)}); expected 401 M_UNKNOWN_TOKEN`);
  }

  // Evidence only: does the server hand out tokens that expire by themselves?
  const expiring = await passwordLogin(clientUrl, account.localpart, account.password, { refresh_token: true });
  const expiresIn = expiring.body.expires_in_ms;
  s.note(`login asking for a refresh token: ${describeAnswer(expiring)}; `
    + (typeof expiresIn === 'number' ? `the access token expires in ${expiresIn} ms (refresh token issued: ${typeof expiring.body.refresh_token === 'string'})`
      : 'no expires_in_ms: the access token does not expire by itself'));
  if (typeof expiring.body.access_token === 'string') await logout(clientUrl, expiring.body.access_token);
  s.note('for a person: the configured session lifetime / inactivity limit (e.g. Synapse session_lifetime, refreshable_access_token_lifetime) is in the server configuration, not visible to a client');
}

/** XMPP: the operator ends a user's session with the server's admin command; the server closes the stream. */
async function xmppOperatorEndsSession(s: Session, account: Account): Promise<void> {
  const org = account.org;
  const c2s = await resolveEndpoint(org.clientUrl, s.lab.dnsAddress, org.address);
  const session = await openSession({ host: c2s.address, port: c2s.port, domain: org.domain, caFile: s.lab.caFile }, account.localpart, account.password);
  try {
    s.note(`session ${session.jid} bound over STARTTLS`);
    if (!(await session.ping())) throw new Error(`${session.jid}: the fresh session does not answer a ping`);
    s.note('ping on the session: answered');
    const resource = session.jid.split('/').slice(1).join('/');
    const answer = await endXmppSession(org, account.address, resource);
    if (answer === undefined) throw new NotTestable(`${org.name}: the declaration gives the harness no admin command to end a session (${org.provisioning.method})`);
    s.note(`operator command to end ${session.jid}: ${answer || '(no output)'}`);
    const started = Date.now();
    const ended = await session.ended(endBoundMs);
    if (!ended) throw new ConformanceFailure(`${org.domain}: the session ${session.jid} was still open ${endBoundMs} ms after the operator ended it`);
    s.note(`the server ended the stream after ${Date.now() - started} ms: ${ended}`);
    if (await session.ping(2000)) throw new ConformanceFailure(`${org.domain}: the ended session ${session.jid} still answers`);
    s.note('ping on the ended session: no answer');
  } finally {
    session.close();
  }
}

describe('SEC-SESSION: sessions can be ended (tokens expire or can be revoked)', () => {
  scenario('a session that is revoked can no longer be used', {
    requirements: ['SEC-SESSION'],
    clause: {
      matrix: 'Client-Server API §"POST /_matrix/client/v3/logout": "Invalidates an existing access token, so that it can no longer be used for '
        + 'authorization"; §"Using access tokens": an unrecognised token gets 401 M_UNKNOWN_TOKEN (KS 1.10.2: session lifetime configurable).',
      xmpp: 'RFC 6120 §4.4 "Closing a Stream" and §4.9 "Stream Errors": the server may end a stream at any time, closing the session; '
        + 'the operator ends a user\'s session with the server\'s administration command (KS 1.10.2: session lifetime configurable).',
    },
  }, async (s) => {
    const account = await provisionAccount(s.lab.organisations['org-a'], `session-${randomBytes(3).toString('hex')}`);
    s.note(`account ${account.address}`);
    if (s.protocol === 'matrix') await matrixRevocation(s, account);
    else await xmppOperatorEndsSession(s, account);
  });
});
