import { randomBytes } from 'node:crypto';
import type { Account } from '../drivers/driver.ts';
import type { OrganisationDescription } from '../lab/types.ts';
import { deleteWithEjabberdctl, kickSessionWithEjabberdctl, registerWithEjabberdctl } from './ejabberdctl.ts';
import { operatorDeactivates } from './operator.ts';
import { claimPreCreated } from './pre-created.ts';
import { closeSessionsWithProsodyctl, deleteWithProsodyctl, registerWithProsodyctl } from './prosodyctl.ts';
import { registerWithSharedSecret } from './shared-secret.ts';

/**
 * Creates a test user on an organisation's server the way its description says. The one place that
 * knows the provisioning methods; drivers only log users in.
 */
export async function provisionAccount(org: OrganisationDescription, localpart: string): Promise<Account> {
  const password = randomBytes(18).toString('base64url');
  const method = org.provisioning;
  switch (method.method) {
    case 'synapse-shared-secret':
      return { address: await registerWithSharedSecret(org, method, localpart, password), localpart, password, org };
    case 'prosodyctl':
      return { address: await registerWithProsodyctl(org, method, localpart, password), localpart, password, org };
    case 'ejabberdctl':
      return { address: await registerWithEjabberdctl(org, method, localpart, password), localpart, password, org };
    case 'pre-created':
      return claimPreCreated(org, method, localpart);
  }
}

/**
 * Removes an account the harness created (a version probe's, an audit scenario's). false: the harness has no way
 * to remove accounts of this product through its provisioning method (pre-created accounts; Dendrite, which
 * shares Synapse's shared-secret registration but not its Admin API).
 */
export async function removeAccount(account: Account): Promise<boolean> {
  const method = account.org.provisioning;
  switch (method.method) {
    case 'prosodyctl':
      await deleteWithProsodyctl(account.org, method, account.address);
      return true;
    case 'ejabberdctl':
      await deleteWithEjabberdctl(account.org, method, account.address);
      return true;
    case 'synapse-shared-secret':
      // Deactivation through the Admin API, as the operator's admin account (the account's data stays).
      return (await operatorDeactivates(account.org, account.address)) !== undefined;
    case 'pre-created':
      return false;
  }
}

/**
 * The operator ends an XMPP user's session (`resource`: the session's resource) with the server's admin
 * command. Returns the command's answer; undefined when this provisioning method has no admin command.
 */
export async function endXmppSession(org: OrganisationDescription, address: string, resource: string): Promise<string | undefined> {
  const method = org.provisioning;
  switch (method.method) {
    case 'prosodyctl':
      return closeSessionsWithProsodyctl(org, method, address);
    case 'ejabberdctl':
      return kickSessionWithEjabberdctl(org, method, address, resource);
    case 'synapse-shared-secret':
    case 'pre-created':
      return undefined;
  }
}
