import type { OrganisationDescription, Provisioning } from '../lab/types.ts';
import { runWithInput } from './command.ts';

const timeoutMs = 30_000;
/** ejabberdctl's exit status when the RPC to the node failed (node down, connection refused, name clash). */
const statusBadRpc = 3;
type Method = Extract<Provisioning, { method: 'ejabberdctl' }>;

/**
 * ejabberdctl talks to the running node over Erlang distribution. As root it would re-run itself through
 * `su ejabberd` with HOME=/var/lib/ejabberd, where the node's cookie is not; so the call runs as the
 * ejabberd user directly, with the HOME that holds this node's cookie.
 *
 * `secret` is removed from whatever is reported (ejabberdctl has no other way to take a password than as
 * an argument; see registerWithEjabberdctl).
 */
async function ejabberdctl(org: OrganisationDescription, method: Method, args: string[], secret?: string): Promise<string> {
  const command = [
    'setpriv', `--reuid=${method.user}`, `--regid=${method.user}`, '--init-groups', '--',
    'env', `HOME=${method.home}`,
    'ejabberdctl', '--config-dir', method.configDir, '--node', method.node, ...args,
  ];
  const redact = (text: string) => (secret ? text.split(secret).join('<password>') : text);
  let result = await runWithInput(command[0]!, command.slice(1), '', timeoutMs);
  // Each call is a short-lived Erlang node named <3 random hex digits>-ctl-<node>; two concurrent calls can
  // draw the same name, and the node then refuses the second connection. One retry covers that.
  if (result.code === statusBadRpc) result = await runWithInput(command[0]!, command.slice(1), '', timeoutMs);
  if (result.code !== 0) {
    throw new Error(`ejabberdctl ${args[0]} on ${org.domain} (node ${method.node}) failed `
      + `(${result.signal ?? `exit ${result.code}`}): ${redact(result.output.trim())}`);
  }
  return redact(result.output);
}

/**
 * `ejabberdctl register USER HOST PASSWORD`. ejabberd 23.01's ejabberdctl takes the password only as a
 * command-line argument (it reads nothing from stdin), so it is visible in `ps` to local users for the
 * second the call lasts. These are throwaway test accounts on a loopback-only lab.
 */
export async function registerWithEjabberdctl(org: OrganisationDescription, method: Method, localpart: string, password: string): Promise<string> {
  await ejabberdctl(org, method, ['register', localpart, org.domain, password], password);
  return `${localpart}@${org.domain}`;
}

export async function deleteWithEjabberdctl(org: OrganisationDescription, method: Method, address: string): Promise<void> {
  const at = address.lastIndexOf('@');
  const [user, host] = at > 0 ? [address.slice(0, at), address.slice(at + 1)] : [address, org.domain];
  await ejabberdctl(org, method, ['unregister', user, host]);
}

/** The operator ends one session of `address` (`ejabberdctl kick_session USER HOST RESOURCE REASON`, mod_admin_extra). */
export async function kickSessionWithEjabberdctl(org: OrganisationDescription, method: Method, address: string, resource: string): Promise<string> {
  const at = address.lastIndexOf('@');
  const [user, host] = at > 0 ? [address.slice(0, at), address.slice(at + 1)] : [address, org.domain];
  return (await ejabberdctl(org, method, ['kick_session', user, host, resource, 'ended by the operator (fedconf)'])).trim();
}

/** The operator's list of sessions on virtual host `host` (`ejabberdctl connected_users_vhost HOST`): full JIDs. */
export async function listSessionsWithEjabberdctl(org: OrganisationDescription, method: Method, host: string): Promise<string> {
  return (await ejabberdctl(org, method, ['connected_users_vhost', host])).trim();
}

/** The resources `address` has sessions on (`ejabberdctl user_resources USER HOST`, mod_admin_extra). */
export async function resourcesWithEjabberdctl(org: OrganisationDescription, method: Method, address: string): Promise<string[]> {
  const at = address.lastIndexOf('@');
  const [user, host] = at > 0 ? [address.slice(0, at), address.slice(at + 1)] : [address, org.domain];
  return (await ejabberdctl(org, method, ['user_resources', user, host])).split('\n').map((l) => l.trim()).filter(Boolean);
}

/**
 * The operator exports every account on the node as XEP-0227 files into `dir` (`ejabberdctl export_piefxis DIR`,
 * ejabberd_piefxis). The node itself writes them, so `dir` must be writable by the ejabberd user.
 */
export async function exportPiefxisWithEjabberdctl(org: OrganisationDescription, method: Method, dir: string): Promise<string> {
  return (await ejabberdctl(org, method, ['export_piefxis', dir])).trim();
}
