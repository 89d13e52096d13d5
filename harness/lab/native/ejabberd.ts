/**
 * ejabberd (XMPP) in the native lab: Debian bookworm's package (23.01), one Erlang VM per organisation.
 *
 * Configuration: Debian's stock ejabberd.yml (the pristine copy the package ships as
 * /usr/share/ejabberd/ejabberd.yml.example) plus only what the lab needs — the organisation's domain,
 * certificate and CA, listeners on its own address, no shapers, the MUC service on conference.<domain>,
 * name resolution through the lab DNS. The stock module set is kept as is (mod_s2s_dialback included).
 *
 * Erlang distribution (which ejabberdctl needs) runs without epmd: ERL_DIST_PORT makes the node listen on a
 * fixed port, here bound to the organisation's address only. Each node has its own name
 * (ejabberd@<address>) and its own cookie, kept in a HOME only the ejabberd user reads; the VM runs in the
 * foreground as that user, so the PID the lab records is the VM's own. Name resolution is confined to the
 * lab DNS twice over: Erlang's resolver through inetrc, the C library's through a private mount namespace.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { xmppServerVersion } from '../../drivers/xmpp.ts';
import { isAlive, logTail, spawnServer, stopProcess } from '../processes.ts';
import type { OrganisationDescription, Provisioning } from '../types.ts';
import { installDebianPackages } from './debian.ts';
import { waitForPorts } from './ready.ts';
import { allowListOf, guestDomainOf, guestsAdmitted, guestSwitches, refuseUnknownSettings, type LabSettings, type NativeAdapter, type OrganisationPlan, type Progress, type RunningOrganisation } from './adapter.ts';

const run = promisify(execFile);

const c2sPort = 5222;
const s2sPort = 5269;
/** Erlang distribution (ejabberdctl ↔ node), the port ejabberdctl.cfg.example suggests for ERL_DIST_PORT. */
const distPort = 5210;
/** HTTPS for XEP-0363 uploads (the port of the stock config's commented-out mod_http_upload example). */
const httpsPort = 5443;
const startTimeoutMs = 60_000;
/** Seconds ejabberd bounces stanzas for a peer it could not reach (stock: up to 300). */
const s2sMaxRetryDelaySeconds = 10;

/** Debian packages the adapter needs (dnsmasq-base is the lab DNS every XMPP lab uses). */
const debianPackages = ['ejabberd', 'dnsmasq-base'] as const;

/** Debian's stock configuration, as the package ships it (the /etc copy is the admin's and may be edited). */
const stockConfigFile = '/usr/share/ejabberd/ejabberd.yml.example';
/** Where Debian's packaged service writes its PID (EJABBERD_PID_PATH in /etc/default/ejabberd). */
const systemPidFile = '/run/ejabberd/ejabberd.pid';
const erlangLibs = '/usr/lib/x86_64-linux-gnu';

/** The settings this adapter honours; anything else is refused so a variant never runs as the stock product. */
const knownSettings: ReadonlyArray<keyof LabSettings> = ['federation', 'offlineStorage', 'stockRateLimits', 's2sDialback', 'federationAllowList', 'federationAllowListApplied', 'messageArchive', 'pep', ...guestSwitches];

/** The system user the package created; ejabberdctl runs only as root or as this user. */
const ejabberdUser = 'ejabberd';

export const mucDomainOf = (domain: string): string => `conference.${domain}`;
/** The XEP-0363 upload service's JID (mod_http_upload's default, upload.@HOST@). */
export const uploadDomainOf = (domain: string): string => `upload.${domain}`;

/** The Erlang node name of an organisation's server: unique per address, so several labs' nodes never clash. */
export const nodeNameOf = (address: string): string => `ejabberd@${address}`;

/** An IPv4 address as an Erlang tuple term: {127,77,1,11}. */
function erlangAddress(address: string): string {
  const octets = address.split('.');
  if (octets.length !== 4 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) {
    throw new Error(`ejabberd adapter: ${JSON.stringify(address)} is not an IPv4 address`);
  }
  return `{${octets.map(Number).join(',')}}`;
}

// ---------------------------------------------------------------------------------------------
// Configuration

export interface EjabberdConfig {
  domain: string;
  address: string;
  certificateFile: string;
  keyFile: string;
  caFile: string;
  federation: boolean;
  /** Where mod_http_upload stores files. */
  uploadDir: string;
  /** false: the stock mod_offline is removed, so nothing is stored for offline users. */
  offlineStorage?: boolean;
  /** true: keep the stock shapers (SEC-BRUTE asks for the server's stock limits). */
  stockRateLimits?: boolean;
  /** false: mod_s2s_dialback is not loaded, so peers authenticate by certificate (SASL EXTERNAL) only. */
  s2sDialback?: boolean;
  /** false: mod_pubsub without its "pep" plugin, so no PEP (no OMEMO device lists or bundles): the E2E-DM negative control. */
  pep?: boolean;
  /** Peer domains s2s may reach or come from (ACL + s2s_access); absent: any. */
  federationAllowList?: string[];
  logLevel?: string;
  /** Whether guest.<domain> admits guests by SASL ANONYMOUS (GST-*); absent: no guest host. */
  guests?: boolean;
  /** true: mod_mam as the stock config's commented-out example has it (every message archived), rooms archived too. */
  messageArchive?: boolean;
}

type Yaml = Record<string, unknown>;

const isObject = (value: unknown): value is Yaml => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * ejabberd.yml for one organisation: the stock configuration with the lab's changes. Only the stock
 * STARTTLS c2s listener and the s2s listener are kept (no direct-TLS 5223, HTTP 5280/5443 with BOSH,
 * WebSocket, API and web admin, STUN/TURN 3478 or MQTT 1883), each bound to the organisation's address.
 */
export function ejabberdConfig(stock: Yaml, c: EjabberdConfig): Yaml {
  const config: Yaml = structuredClone(stock);
  const listen = config.listen;
  const modules = config.modules;
  const shaperRules = config.shaper_rules;
  if (!Array.isArray(listen) || !isObject(modules) || !isObject(shaperRules) || !isObject(modules.mod_muc)) {
    throw new Error(`ejabberd adapter: ${stockConfigFile} has no listen / modules / shaper_rules / mod_muc section as expected`);
  }
  const listener = (module: string, port: number): Yaml => {
    const found = listen.find((l): l is Yaml => isObject(l) && l.module === module && l.port === port);
    if (!found) throw new Error(`ejabberd adapter: ${stockConfigFile} has no ${module} listener on port ${port}`);
    return { ...found, ip: c.address };
  };
  // federation off: no s2s listener (nothing inbound) and the s2s access rule `none` (nothing outbound).
  // XEP-0363 HTTP File Upload, as the stock config's commented-out example has it (mod_http_upload behind
  // /upload on an HTTPS listener, put_url https://@HOST@:5443/upload); the stock config has no upload service.
  const upload: Yaml = { port: httpsPort, ip: c.address, module: 'ejabberd_http', tls: true, request_handlers: { '/upload': 'mod_http_upload' } };
  config.listen = c.federation
    ? [listener('ejabberd_c2s', c2sPort), listener('ejabberd_s2s_in', s2sPort), upload]
    : [listener('ejabberd_c2s', c2sPort), upload];
  if (!c.federation) config.s2s_access = 'none';
  else if (c.federationAllowList) {
    // The operator's allow-list as the ejabberd guide has it: an ACL of peer servers and an access rule for s2s_access,
    // which ejabberd checks for outgoing and incoming s2s alike (ejabberd_s2s:allow_host).
    const acl = isObject(config.acl) ? config.acl : {};
    const rules = isObject(config.access_rules) ? config.access_rules : {};
    config.acl = { ...acl, federation_allowed: { server: c.federationAllowList } };
    config.access_rules = { ...rules, s2s_allowed: { allow: 'federation_allowed' } };
    config.s2s_access = 's2s_allowed';
  }

  if (c.logLevel) config.loglevel = c.logLevel;
  // Guests: anonymous logins (SASL ANONYMOUS) on their own host; without it guest.<domain> is not served.
  config.hosts = c.guests === true ? [c.domain, guestDomainOf(c.domain)] : [c.domain];
  if (c.guests === true) config.host_config = { [guestDomainOf(c.domain)]: { auth_method: ['anonymous'], anonymous_protocol: 'sasl_anon' } };
  // Only users of the organisation's own host create rooms (stock: every local user, guests included) — GST-LIMITS.
  config.acl = { ...(isObject(config.acl) ? config.acl : {}), organisation: { server: c.domain } };
  config.access_rules = { ...(isObject(config.access_rules) ? config.access_rules : {}), muc_create: { allow: 'organisation' } };
  config.certfiles = [c.certificateFile, c.keyFile];
  // Trust anchors for verifying peers (s2s SASL EXTERNAL): the lab CA only.
  config.ca_file = c.caFile;
  config.s2s_use_starttls = 'required';
  // The lab DNS answers A records only. (The xmpp library 23.01 ships, p1_xmpp 1.6.1, resolves addresses with
  // getaddrinfo and ignores this option; later versions honour it.)
  config.outgoing_s2s_families = ['ipv4'];
  // After failing to reach a peer, ejabberd bounces every stanza for that peer for a random 1..300 s
  // (s2s_max_retry_delay); a scenario that stops a peer would then fail the scenarios after it. Like the
  // Synapse adapter's retry intervals, a lab deviation to declare in reports.
  config.s2s_max_retry_delay = s2sMaxRetryDelaySeconds;
  // The stock shapers (c2s 3000 B/s for users, s2s "fast") stall a test run by ~45 ms per burst.
  if (c.stockRateLimits !== true) config.shaper_rules = { ...shaperRules, c2s_shaper: 'none', s2s_shaper: 'none' };
  config.modules = {
    ...modules,
    mod_muc: { ...modules.mod_muc, hosts: [mucDomainOf(c.domain)] },
    mod_http_upload: { put_url: `https://@HOST@:${httpsPort}/upload`, docroot: c.uploadDir, hosts: [uploadDomainOf(c.domain)] },
  };
  if (c.offlineStorage === false) delete (config.modules as Yaml).mod_offline;
  if (c.s2sDialback === false) delete (config.modules as Yaml).mod_s2s_dialback;
  if (c.pep === false) {
    const pubsub = (config.modules as Yaml).mod_pubsub as Yaml;
    (config.modules as Yaml).mod_pubsub = { ...pubsub, plugins: (pubsub.plugins as string[]).filter((p) => p !== 'pep') };
  }
  if (c.messageArchive === true) {
    const muc = (config.modules as Yaml).mod_muc as Yaml;
    (config.modules as Yaml).mod_mam = { assume_mam_usage: true, default: 'always' };
    (config.modules as Yaml).mod_muc = { ...muc, default_room_options: { ...(isObject(muc.default_room_options) ? muc.default_room_options : {}), mam: true } };
  }
  return config;
}

/**
 * Erlang's resolver settings (ERL_INETRC): only the lab DNS, never the machine's resolv.conf or /etc/hosts
 * (empty resolv_conf / hosts_file switch off reading and watching them). This covers the SRV lookups;
 * see start() for the address lookups, which go through the C library.
 */
export function inetrc(dnsAddress: string): string {
  return [
    '%% Written by fedconf. Name resolution only through the lab DNS.',
    '{resolv_conf, ""}.',
    '{hosts_file, ""}.',
    '{lookup, [file, dns]}.',
    `{nameserver, ${erlangAddress(dnsAddress)}, 53}.`,
    '{timeout, 2000}.',
    '{retry, 2}.',
    '',
  ].join('\n');
}

/** A value in ejabberdctl.cfg (a shell file ejabberdctl sources): single-quoted. */
const shellValue = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

/** ejabberdctl.cfg: which node ejabberdctl talks to and how (fixed distribution port, no epmd). */
function ejabberdctlConfig(c: { domain: string; node: string; spoolDir: string; logsDir: string }): string {
  return [
    `# Written by fedconf for ${c.domain}. Regenerated on every start; do not edit.`,
    `ERLANG_NODE=${shellValue(c.node)}`,
    `ERL_DIST_PORT=${distPort}`,
    `SPOOL_DIR=${shellValue(c.spoolDir)}`,
    `LOGS_DIR=${shellValue(c.logsDir)}`,
    `ERL_OPTIONS=${shellValue('-env ERL_CRASH_DUMP_BYTES 0')}`,
    'EJABBERD_BYPASS_WARNINGS=true',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Installation

async function install(progress: Progress): Promise<void> {
  const installed = await installDebianPackages('ejabberd', debianPackages, progress);
  if (installed.includes('ejabberd')) await stopSystemService(progress);
}

/**
 * The package's postinst starts and enables the system's own ejabberd (systemd unit, or the init script
 * where there is no systemd) unless policy-rc.d forbids it; it would hold *:5222/5269 and start epmd. Only
 * called right after we installed the package, so it never touches an installation that was there before.
 */
async function stopSystemService(progress: Progress): Promise<void> {
  if (existsSync('/run/systemd/system')) {
    progress('disabling (and stopping, if it runs) the system ejabberd service the package installed');
    await run('systemctl', ['disable', '--now', 'ejabberd']).catch(() => undefined);
    return;
  }
  // No systemd: the init script runs `ejabberdctl start`, which writes the PID file. Its `status` would
  // start an epmd of its own when nothing runs, so look at the PID file instead.
  let pid: number | undefined;
  try {
    pid = Number(readFileSync(systemPidFile, 'utf8').trim()) || undefined;
  } catch {
    pid = undefined;
  }
  if (pid !== undefined && isAlive(pid)) {
    progress(`stopping the system ejabberd (pid ${pid}) the package started`);
    await run('/etc/init.d/ejabberd', ['stop'], { timeout: 90_000 });
  }
  await run('update-rc.d', ['ejabberd', 'disable']).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// Start

function checkSettings(settings: LabSettings): { federation: boolean; offlineStorage?: boolean; stockRateLimits: boolean; s2sDialback?: boolean; federationAllowList?: string[]; pep?: boolean; messageArchive?: boolean } {
  refuseUnknownSettings('ejabberd', settings, knownSettings);
  const federationAllowList = allowListOf('ejabberd', settings);
  const { federation, offlineStorage, stockRateLimits, s2sDialback, pep, messageArchive } = settings;
  return {
    federation: federation ?? true, ...(offlineStorage !== undefined ? { offlineStorage } : {}), stockRateLimits: stockRateLimits ?? false,
    ...(s2sDialback !== undefined ? { s2sDialback } : {}), ...(federationAllowList ? { federationAllowList } : {}), ...(pep !== undefined ? { pep } : {}),
    ...(messageArchive !== undefined ? { messageArchive } : {}),
  };
}

interface RunAs {
  /** Prefix that runs a command as the ejabberd user. */
  prefix: string[];
  uid: number;
  gid: number;
}

async function runAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) {
    // ejabberdctl runs only as root or as ejabberd, and the private mount namespace needs root.
    throw new Error(`ejabberd adapter: run the harness as root; it starts ejabberd as user ${ejabberdUser} in a private mount namespace`);
  }
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', ejabberdUser]), run('id', ['-g', ejabberdUser])]);
  return {
    // setpriv execs the command, so the PID we track is the VM's own (erl execs erlexec, which execs beam.smp).
    prefix: ['setpriv', `--reuid=${ejabberdUser}`, `--regid=${ejabberdUser}`, '--init-groups', '--'],
    uid: Number(uid.trim()),
    gid: Number(gid.trim()),
  };
}

/** A directory the ejabberd process owns. */
function ownedDir(path: string, user: RunAs, mode = 0o750): string {
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
  chownSync(path, user.uid, user.gid);
  return path;
}

/** A file (a copy of a possibly root-only one, or new content) that the ejabberd process can read. */
function ownedFile(path: string, content: { from: string } | { text: string }, user: RunAs, mode = 0o640): string {
  if ('from' in content) copyFileSync(content.from, path);
  else writeFileSync(path, content.text);
  chmodSync(path, mode);
  chownSync(path, user.uid, user.gid);
  return path;
}

async function start(plan: OrganisationPlan, progress: Progress): Promise<RunningOrganisation> {
  const { federation, offlineStorage, stockRateLimits, s2sDialback, federationAllowList, messageArchive, pep } = checkSettings(plan.settings);
  const user = await runAs();
  mkdirSync(plan.dir, { recursive: true });
  const spoolDir = ownedDir(join(plan.dir, 'data'), user);
  const logsDir = ownedDir(join(plan.dir, 'logs'), user);
  const certsDir = ownedDir(join(plan.dir, 'certs'), user);
  // HOME of the VM and of every ejabberdctl call: it holds the node's cookie, readable by ejabberd alone.
  const home = ownedDir(join(plan.dir, 'home'), user, 0o700);
  ownedFile(join(home, '.erlang.cookie'), { text: randomBytes(24).toString('hex') }, user, 0o400);

  const certificateFile = ownedFile(join(certsDir, `${plan.domain}.crt`), { from: plan.tls.chainFile || plan.tls.certFile }, user);
  const keyFile = ownedFile(join(certsDir, `${plan.domain}.key`), { from: plan.tls.keyFile }, user, 0o600);
  const caFile = ownedFile(join(certsDir, 'lab-ca.pem'), { from: plan.caFile }, user, 0o644);

  // ejabberdctl's --config-dir: ejabberd.yml, ejabberdctl.cfg and inetrc side by side, as in /etc/ejabberd.
  const configDir = plan.dir;
  const configFile = join(configDir, 'ejabberd.yml');
  const inetrcFile = join(configDir, 'inetrc');
  const node = nodeNameOf(plan.address);
  const stock = parse(readFileSync(stockConfigFile, 'utf8')) as unknown;
  if (!isObject(stock)) throw new Error(`ejabberd adapter: ${stockConfigFile} is not a YAML mapping`);
  const config = ejabberdConfig(stock, {
    domain: plan.domain,
    address: plan.address,
    certificateFile,
    keyFile,
    caFile,
    federation,
    guests: guestsAdmitted(plan.settings),
    uploadDir: ownedDir(join(spoolDir, 'upload'), user),
    ...(offlineStorage !== undefined ? { offlineStorage } : {}),
    ...(messageArchive !== undefined ? { messageArchive } : {}),
    stockRateLimits,
    ...(s2sDialback !== undefined ? { s2sDialback } : {}),
    ...(pep !== undefined ? { pep } : {}),
    ...(federationAllowList ? { federationAllowList } : {}),
    logLevel: process.env.FEDCONF_EJABBERD_LOG_LEVEL,
  });
  writeFileSync(configFile, `# Written by fedconf for ${plan.domain}: Debian's stock ejabberd.yml plus the lab's changes. `
    + 'Regenerated on every start; do not edit.\n' + stringify(config), { mode: 0o644 });
  writeFileSync(inetrcFile, inetrc(plan.dnsAddress), { mode: 0o644 });
  writeFileSync(join(configDir, 'ejabberdctl.cfg'), ejabberdctlConfig({ domain: plan.domain, node, spoolDir, logsDir }), { mode: 0o644 });

  // The VM must reach its files through every parent directory (a 0700 temp dir would hide them).
  await run(user.prefix[0]!, [...user.prefix.slice(1), 'test', '-r', configFile, '-a', '-r', keyFile, '-a', '-w', spoolDir])
    .catch(() => {
      throw new Error(`ejabberd adapter: user ${ejabberdUser} cannot read ${configFile} or write ${spoolDir}; `
        + `every parent directory of ${plan.dir} must be searchable by that user (FEDCONF_LAB_HOME names a folder it cannot reach: unset it and the lab picks one it can)`);
    });

  // Host names for the C library's resolver inside the server's mount namespace: nothing but localhost.
  const hostsFile = join(plan.dir, 'hosts');
  writeFileSync(hostsFile, '127.0.0.1 localhost\n::1 localhost\n', { mode: 0o644 });

  progress(`starting ejabberd for ${plan.domain} on ${plan.address}`);
  const started = Date.now();
  // What `ejabberdctl foreground` runs, without its shell in between (which would not pass SIGTERM on) and
  // with the config file on the command line (the lab's marker for this process).
  //
  // ejabberd 23.01 resolves SRV records through Erlang's resolver (inetrc) but the A/AAAA records of the
  // SRV targets through the C library (net:getaddrinfo in xmpp_stream_out), which reads /etc/resolv.conf
  // and /etc/hosts. So the VM runs in a private mount namespace where both are the lab's own files.
  // unshare, sh, setpriv, erl and erlexec all exec: the PID we record is beam.smp's.
  const command = [
    'unshare', '-m', '--propagation', 'private',
    'sh', '-c', 'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /etc/hosts && shift 2 && exec "$@"',
    'sh', plan.resolvConf, hostsFile,
    ...user.prefix,
    'erl',
    '-name', node,
    '+K', 'true', '+P', '250000',
    '-env', 'ERL_CRASH_DUMP_BYTES', '0',
    // Distribution on a fixed port without epmd, on this organisation's address only.
    '-erl_epmd_port', String(distPort), '-start_epmd', 'false',
    '-kernel', 'inet_dist_use_interface', erlangAddress(plan.address),
    '-mnesia', 'dir', JSON.stringify(spoolDir),
    '-ejabberd', 'config', JSON.stringify(configFile), 'log_rotate_count', '0',
    '-s', 'ejabberd',
    '-noinput',
  ];
  const proc = spawnServer({
    name: `ejabberd-${plan.name}`,
    command: command[0]!,
    args: command.slice(1),
    marker: configFile,
    logFile: join(plan.dir, 'ejabberd.log'),
    cwd: spoolDir,
    env: {
      HOME: home,
      EJABBERD_CONFIG_PATH: configFile,
      EJABBERD_LOG_PATH: join(logsDir, 'ejabberd.log'),
      ERL_INETRC: inetrcFile,
      ERL_LIBS: erlangLibs,
      ERL_MAX_PORTS: '32000',
      ERL_MAX_ETS_TABLES: '1400',
      ERL_CRASH_DUMP: join(logsDir, 'erl_crash.dump'),
    },
  });
  try {
    const ports = federation ? [c2sPort, s2sPort, distPort, httpsPort] : [c2sPort, distPort, httpsPort];
    await waitForPorts('ejabberd VM', proc, plan.address, ports, startTimeoutMs);
    progress(`ejabberd for ${plan.domain} accepts on ${ports.map((p) => `${plan.address}:${p}`).join(', ')} after ${Date.now() - started} ms`);

    const provisioning: Extract<Provisioning, { method: 'ejabberdctl' }> = {
      method: 'ejabberdctl',
      node,
      configDir,
      home,
      user: ejabberdUser,
    };
    const description: OrganisationDescription = {
      implementation: 'ejabberd',
      name: plan.name,
      domain: plan.domain,
      address: plan.address,
      product: plan.productId,
      protocol: 'xmpp',
      version: 'unknown',
      clientUrl: `xmpp://${plan.address}:${c2sPort}`,
      federationEndpoint: `${plan.domain}:${s2sPort}`,
      mucDomain: mucDomainOf(plan.domain),
      guestDomain: guestDomainOf(plan.domain),
      provisioning,
    };
    const reported = await xmppServerVersion(description, plan.caFile);
    if (!/ejabberd/i.test(reported.name)) {
      throw new Error(`ejabberd adapter: ${plan.domain} reports software "${reported.name}" ${reported.version}, not ejabberd`);
    }
    description.version = reported.version;
    return { description, processes: [proc] };
  } catch (error) {
    const tail = logTail(proc, 25);
    await stopProcess(proc);
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`ejabberd for ${plan.domain} did not come up: ${message}\n--- ${proc.logFile} (tail) ---\n${tail}`, { cause: error });
  }
}

export const ejabberdAdapter: NativeAdapter = {
  id: 'ejabberd',
  // mod_mam has no expiry option; old archive entries go only when an operator runs `ejabberdctl delete_old_mam_messages`.
  // Uploads expire only through mod_http_upload_quota's max_days, swept once a day.
  lacks: {
    retentionSeconds: 'ejabberd has no automatic message-archive expiry: mod_mam keeps messages until an operator runs ejabberdctl delete_old_mam_messages',
    fileLifetimeSeconds: 'ejabberd 23.01 gives uploaded files a lifetime in whole days only (mod_http_upload_quota max_days), swept once every 24 h (first sweep 10 min after the module starts), so no lifetime in seconds',
  },
  protocol: 'xmpp',
  ports: [c2sPort, s2sPort, distPort, httpsPort],
  srvRecords(domain) {
    return [
      { service: `_xmpp-client._tcp.${domain}`, target: domain, port: c2sPort },
      { service: `_xmpp-server._tcp.${domain}`, target: domain, port: s2sPort },
      { service: `_xmpp-server._tcp.${mucDomainOf(domain)}`, target: mucDomainOf(domain), port: s2sPort },
    ];
  },
  extraHostNames(domain) {
    return [mucDomainOf(domain), guestDomainOf(domain), uploadDomainOf(domain)];
  },
  install,
  start,
};
