import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { checkRecordTime, findRecord, timed, type Action } from '../../harness/audit/index.ts';
import type { Account } from '../../harness/drivers/driver.ts';
import type { OrganisationDescription } from '../../harness/lab/types.ts';
import { resolveEndpoint } from '../../harness/probes/endpoint.ts';
import { passwordLogin } from '../../harness/probes/matrix-client.ts';
import { grantRoomAdmin } from '../../harness/probes/room-privilege.ts';
import { loginAttempt } from '../../harness/probes/xmpp-c2s.ts';
import { provisionAccount, removeAccount } from '../../harness/provisioning/index.ts';
import { operatorAddress, operatorMakesServerAdmin, type OperatorAnswer } from '../../harness/provisioning/operator.ts';
import { scenario, type Session } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure } from '../../harness/verdict/failure.ts';

/**
 * The server's own records of what happened: the harness performs an action on org-a and then looks for the
 * product's record of it (harness/audit/: the lab's log files per product), by actor, subject and time.
 */

const accountClause = {
  matrix: 'KS 1.1.2 / i.4.11 (requirement specification): creating, deactivating and changing the privileges of an '
    + 'account is logged with who did it, to whom and when. Synapse Admin API "Register a user" (shared secret), '
    + '"Create or modify account" (admin: true) and "Deactivate Account".',
  xmpp: 'KS 1.1.2 / i.4.11 (requirement specification): creating, deactivating and changing the privileges of an '
    + 'account is logged with who did it, to whom and when. prosodyctl register / deluser.',
};
const authClause = {
  matrix: 'KS i.7.11 (requirement specification): successful and failed logins are logged with time and source. '
    + 'Client-Server API "Login": POST /_matrix/client/v3/login with m.login.password.',
  xmpp: 'KS i.7.11 (requirement specification): successful and failed logins are logged with time and source. '
    + 'RFC 6120 §6 (SASL negotiation), <not-authorized/> on a wrong password.',
};
const timeClause = {
  matrix: 'KS i.7.16 (requirement specification): log records carry unambiguous timestamps (UTC or with offset) from a synchronised clock.',
  xmpp: 'KS i.7.16 (requirement specification): log records carry unambiguous timestamps (UTC or with offset) from a synchronised clock.',
};

const adminClause = {
  matrix: 'KS 1.1.2 / i.4.7 (requirement specification): administrative changes are logged. Client-Server API '
    + '"m.room.power_levels": a room admin changes a user\'s power level with PUT /rooms/{roomId}/state/m.room.power_levels.',
  xmpp: 'KS 1.1.2 / i.4.7 (requirement specification): administrative changes are logged. XEP-0045 §10.6 '
    + '"Granting Administrative Privileges": the owner sets affiliation="admin" by muc#admin.',
};

const freshLocalpart = (): string => `audit${randomBytes(4).toString('hex')}`;

/** A login attempt on org-a's client endpoint as a client makes it; true when the server accepted it. */
async function attemptLogin(s: Session, org: OrganisationDescription, account: Account, password: string): Promise<boolean> {
  if (org.protocol === 'matrix') return (await passwordLogin(org.clientUrl, account.localpart, password, {}, true)).status === 200;
  const c2s = await resolveEndpoint(org.clientUrl, s.lab.dnsAddress, org.address);
  const attempt = await loginAttempt({ host: c2s.address, port: c2s.port, domain: org.domain, caFile: s.lab.caFile }, account.localpart, password);
  return attempt.outcome === 'success';
}

/** An IPv4 or IPv6 address in a record: the login's source. */
const sourceAddress = /\b\d{1,3}(?:\.\d{1,3}){3}\b|\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b/i;

describe('AUD-ACCOUNT: creating, privileging and removing an account leaves a record with actor, subject and time', () => {
  scenario('the operator creates an account on org-a through its provisioning method, makes it a server administrator where that is a run-time action, then removes it; the server records each', {
    requirements: ['AUD-ACCOUNT'],
    clause: accountClause,
  }, async (s) => {
    const org = s.lab.organisations['org-a'];
    let account: Account | undefined;
    const created = await timed(`account created by the operator (${org.provisioning.method})`, async () => {
      account = await provisionAccount(org, freshLocalpart());
    });
    const subject = account!.address;
    s.note(`created ${subject} at ${created.started.toISOString()} by ${org.provisioning.method}`);
    await findRecord(s, org, { ...created, what: `${created.what}: ${subject}` }, (r) => r.marks.accountCreated(subject));
    let granted: OperatorAnswer | undefined;
    const privileged = await timed(`the operator makes ${subject} a server administrator`, async () => {
      granted = await operatorMakesServerAdmin(org, subject);
    });
    if (granted) {
      s.note(`${granted.command}: HTTP ${granted.status}`);
      const actor = operatorAddress(org)!;
      await findRecord(s, org, privileged, (r) => r.marks.serverAdminGranted?.(actor, subject));
    } else {
      s.note(`privilege change not checked: ${org.product}'s server administrators are not granted at run time through ${org.provisioning.method} (XMPP: the config's admins)`);
    }
    let removedIt = false;
    const removed = await timed(`account removed by the operator (${org.provisioning.method})`, async () => { removedIt = await removeAccount(account!); });
    if (!removedIt) {
      s.note(`removal not checked: the harness cannot remove ${org.product}'s accounts through ${org.provisioning.method}`);
      return;
    }
    await findRecord(s, org, { ...removed, what: `${removed.what}: ${subject}` }, (r) => r.marks.accountRemoved(subject));
  });
});

describe('AUD-AUTH: successful and failed logins are recorded with time and source', () => {
  scenario('a wrong password and then the right one for a new account on org-a; the server records both, with the source address', {
    requirements: ['AUD-AUTH'],
    clause: authClause,
  }, async (s) => {
    const org = s.lab.organisations['org-a'];
    const account = await provisionAccount(org, freshLocalpart());
    const failures: string[] = [];
    const check = async (action: Action, mark: Parameters<typeof findRecord>[3]): Promise<void> => {
      try {
        const record = await findRecord(s, org, action, mark);
        if (!sourceAddress.test(record.text)) failures.push(`the record of "${action.what}" names no source address`);
      } catch (error) {
        if (!(error instanceof ConformanceFailure)) throw error;
        failures.push(error.message);
      }
    };
    let accepted = true;
    const failed = await timed(`failed login (wrong password) of ${account.address}`, async () => {
      accepted = await attemptLogin(s, org, account, `wrong-${randomBytes(6).toString('hex')}`);
    });
    if (accepted) throw new Error(`a wrong password was accepted for ${account.address}; the probe's premise is broken`);
    await check(failed, (r) => r.marks.loginFailed(account.address));
    const succeeded = await timed(`successful login of ${account.address}`, async () => {
      accepted = await attemptLogin(s, org, account, account.password);
    });
    if (!accepted) throw new Error(`the right password was refused for ${account.address}`);
    await check(succeeded, (r) => r.marks.loginSucceeded(account.address));
    if (failures.length) throw new ConformanceFailure(failures.join('; '));
  });
});

describe('AUD-TIME: records carry unambiguous timestamps within a stated tolerance of the harness clock', () => {
  scenario('the record of a login on org-a carries a UTC or offset timestamp within 2 s of the harness clock', {
    requirements: ['AUD-TIME'],
    clause: timeClause,
  }, async (s) => {
    const org = s.lab.organisations['org-a'];
    const account = await provisionAccount(org, freshLocalpart());
    const login = await timed(`successful login of ${account.address}`, async () => {
      if (!(await attemptLogin(s, org, account, account.password))) throw new Error(`the right password was refused for ${account.address}`);
    });
    checkRecordTime(s, await findRecord(s, org, login, (r) => r.marks.loginSucceeded(account.address)), login);
  });
});

describe('AUD-ADMIN: administrative changes are recorded', () => {
  scenario('alice, owner of a room on org-a, makes bob a room admin; the server records who changed what, when', {
    requirements: ['AUD-ADMIN'],
    clause: adminClause,
  }, async (s) => {
    const org = s.lab.organisations['org-a'];
    const alice = await s.user('org-a', 'alice');
    const bob = await s.user('org-a', 'bob');
    const { conversation: room } = await alice.createRoom('audit: privileges');
    let sent = '';
    const changed = await timed(`${alice.account.address} makes ${bob.account.address} admin of ${room.id}`, async () => {
      sent = await grantRoomAdmin(alice, room, bob.account.address);
    });
    s.note(`sent: ${sent}`);
    await findRecord(s, org, changed, (r) => r.marks.privilegeChanged(alice.account.address, bob.account.address, room.id));
  });
});
