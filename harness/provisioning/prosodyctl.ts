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

/**
 * The operator's list of client sessions on `host`: `prosodyctl shell` runs `c2s:show()` with one full-width JID
 * column (the default table cuts JIDs at 32 characters, and its filter takes full JIDs only); the lines on `host` kept.
 */
export async function listSessionsWithProsodyctl(org: OrganisationDescription, method: Method, host: string): Promise<string> {
  const [command = 'prosodyctl', ...prefix] = [...(method.exec ?? []), 'prosodyctl'];
  const lua = 'c2s:show(nil, {{title="JID"; key="full_jid"; width="100%"}})';
  const result = await runWithInput(command, [...prefix, '--config', method.configFile, 'shell', lua], '', timeoutMs);
  if (result.code !== 0) throw new Error(`prosodyctl shell c2s:show on ${org.domain} failed (${result.signal ?? `exit ${result.code}`}): ${result.output.trim()}`);
  return result.output.split('\n').map((line) => line.trim()).filter((line) => line.endsWith(`@${host}`) || line.includes(`@${host}/`)).join('\n');
}
