import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Account } from '../drivers/driver.ts';
import type { OrganisationDescription, Provisioning } from '../lab/types.ts';
import { readSecret } from './secrets.ts';

type Method = Extract<Provisioning, { method: 'pre-created' }>;

/**
 * Takes the next account the operator listed that no scenario has used yet. Scenario files run in
 * separate worker processes, so a claim is a file created exclusively (O_EXCL) in the claim folder.
 */
export function claimPreCreated(org: OrganisationDescription, method: Method, wanted: string): Account {
  mkdirSync(method.claimDir, { recursive: true });
  for (const [index, account] of method.accounts.entries()) {
    try {
      writeFileSync(join(method.claimDir, `${org.name}-${index}`), wanted, { flag: 'wx' });
    } catch {
      continue; // claimed by an earlier scenario
    }
    const localpart = account.address.replace(/^@/, '').split(/[:@]/)[0] ?? account.address;
    return { address: account.address, localpart, password: readSecret(account.password), org };
  }
  throw new Error(`${org.name}: all ${method.accounts.length} pre-created accounts are used; list more in the target declaration (organisations.${org.name}.provisioning.accounts)`);
}
