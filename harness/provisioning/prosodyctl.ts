import type { OrganisationDescription, Provisioning } from '../lab/types.ts';
import { runWithInput } from './command.ts';

const timeoutMs = 30_000;
type Method = Extract<Provisioning, { method: 'prosodyctl' }>;

/** prosodyctl works on the server's data files directly, so it works while the server runs. */
async function prosodyctl(org: OrganisationDescription, method: Method, args: string[], input = ''): Promise<void> {
  const [command = 'prosodyctl', ...prefix] = [...(method.exec ?? []), 'prosodyctl'];
  const result = await runWithInput(command, [...prefix, '--config', method.configFile, ...args], input, timeoutMs);
  if (result.code !== 0) {
    // The output holds prompts, never the password (it is read from stdin without echo).
    throw new Error(`prosodyctl ${args[0]} on ${org.domain} failed (${result.signal ?? `exit ${result.code}`}): ${result.output.trim()}`);
  }
}

export async function registerWithProsodyctl(org: OrganisationDescription, method: Method, localpart: string, password: string): Promise<string> {
  // `register USER HOST` without a password argument reads it (twice) from stdin: it never shows in ps.
  await prosodyctl(org, method, ['register', localpart, org.domain], `${password}\n${password}\n`);
  return `${localpart}@${org.domain}`;
}

export async function deleteWithProsodyctl(org: OrganisationDescription, method: Method, address: string): Promise<void> {
  await prosodyctl(org, method, ['deluser', address]);
}

/**
 * The operator ends every session of `address` (`prosodyctl shell c2s close <jid>`, through the running
 * server's admin socket, mod_admin_shell). Returns the shell's answer for the evidence.
 */
export async function closeSessionsWithProsodyctl(org: OrganisationDescription, method: Method, address: string): Promise<string> {
  const [command = 'prosodyctl', ...prefix] = [...(method.exec ?? []), 'prosodyctl'];
  const result = await runWithInput(command, [...prefix, '--config', method.configFile, 'shell', 'c2s', 'close', address], '', timeoutMs);
  if (result.code !== 0) throw new Error(`prosodyctl shell c2s close on ${org.domain} failed (${result.signal ?? `exit ${result.code}`}): ${result.output.trim()}`);
  return result.output.trim();
}
