import { execFile } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { xmppServerVersion } from '../../drivers/xmpp.ts';
import { logTail, spawnServer, stopProcess } from '../processes.ts';
import type { OrganisationDescription } from '../types.ts';
import { installDebianPackages } from './debian.ts';
import { waitForPorts } from './ready.ts';
import { allowListOf, guestDomainOf, guestsAdmitted, guestSwitches, refuseUnknownSettings, retentionOf, retentionSwitches, secondsOf, type LabSettings, type NativeAdapter, type OrganisationPlan, type Progress, type RunningOrganisation } from './adapter.ts';

const run = promisify(execFile);

const c2sPort = 5222;
const s2sPort = 5269;
/** HTTPS for the XEP-0363 upload service (Prosody's default https port). */
const httpsPort = 5281;
const startTimeoutMs = 20_000;

/** Debian packages the adapter needs (dnsmasq-base is the lab DNS every XMPP lab uses). */
const debianPackages = ['prosody', 'prosody-modules', 'lua-unbound', 'lua-sec', 'lua-event', 'dnsmasq-base'] as const;

/** The settings this adapter honours; anything else is refused so a variant never runs as the stock product. */
const knownSettings: ReadonlyArray<keyof LabSettings> = ['federation', 's2sTlsMinVersion', 's2sRequireEncryption', 'fileUpload', 'offlineStorage', 'clientPlaintext', 'stockRateLimits', 's2sSecureAuth', 'federationAllowList', 'federationAllowListApplied', 'messageArchive', 'fileLifetimeSeconds', 'pep', 'e2eeClientPlaintext', ...guestSwitches, ...retentionSwitches];

/**
 * Prosody 0.12 has no s2s allow-list in core; prosody-modules' mod_host_guard is one (host_guard_blockall +
 * host_guard_blockall_exceptions: s2s to or from any other domain is refused with policy-violation). Debian's copy
 * reads the `configmanager` global that 0.12 no longer has and crashes at start; the lab loads a copy with
 * that one line fixed (`require "core.configmanager"`), under its own name so the broken one is never picked.
 */
const hostGuardSource = '/usr/lib/prosody/modules/mod_host_guard/mod_host_guard.lua';
const hostGuardModule = 'host_guard_fixed';

/** mod_host_guard's source with the 0.12 fix; refuses a source it does not recognise rather than guessing. */
export function fixedHostGuard(source: string): string {
  const broken = 'local config = configmanager';
  if (!source.includes(broken)) throw new Error(`prosody adapter: ${hostGuardSource} no longer has "${broken}"; check whether it still needs the fix`);
  return `-- mod_host_guard from prosody-modules, with its configmanager lookup fixed for Prosody 0.12 by fedconf.\n`
    + source.replace(broken, 'local config = require "core.configmanager"');
}

/** The system user Prosody runs as when the harness is root (Prosody 0.12 refuses to run as root). */
const prosodyUser = 'prosody';

export const mucDomainOf = (domain: string): string => `conference.${domain}`;
/** The XEP-0363 HTTP File Upload component (mod_http_file_share), as Debian's stock config suggests. */
export const uploadDomainOf = (domain: string): string => `upload.${domain}`;

// ---------------------------------------------------------------------------------------------
// Configuration

/** A Lua string literal: printable ASCII as is, every other byte as a decimal escape. */
export function luaString(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x22 && byte !== 0x5c) out += String.fromCharCode(byte);
    else out += `\\${byte.toString().padStart(3, '0')}`;
  }
  return `${out}"`;
}

const luaList = (values: readonly string[]): string => `{ ${values.map(luaString).join('; ')} }`;

export interface ProsodyConfig {
  domain: string;
  address: string;
  dnsAddress: string;
  dataDir: string;
  pidFile: string;
  certificatesDir: string;
  certificateFile: string;
  keyFile: string;
  caFile: string;
  federation: boolean;
  /** false: `s2s_require_encryption = false` (peers may federate in plaintext). */
  s2sRequireEncryption?: boolean;
  /** false: `s2s_secure_auth = false` (a peer whose certificate does not validate may still authenticate by dialback). */
  s2sSecureAuth?: boolean;
  /** Peer domains s2s may reach or come from (mod_host_guard); absent: any. */
  federationAllowList?: string[];
  /** Where the fixed mod_host_guard copy is (plugin_paths). */
  pluginDir?: string;
  /** `TLSv1`: the s2s listener also accepts TLS 1.0/1.1 (Prosody's default is `tlsv1_2+`). */
  s2sTlsMinVersion?: 'TLSv1' | 'TLSv1.2';
  /** false: no upload component (the FED-FILE negative control). */
  fileUpload?: boolean;
  /** false: mod_offline (auto-loaded by Prosody) is disabled, so nothing is stored for offline users. */
  offlineStorage?: boolean;
  /** true: `c2s_require_encryption = false` (clients may connect without TLS), the SEC-TLS-CLIENT negative control. */
  clientPlaintext?: boolean;
  /** false: no mod_pep (nor vcard4 / vcard_legacy, which need it): no device lists or bundles, the E2E-DM negative control. */
  pep?: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /**
   * RET-*: message archives (mod_mam, and mod_muc_mam on the MUC) expiring after this many seconds, or 'never'
   * (retention asked but switched off); absent: no archives, as in the lab's usual deployment.
   */
  archiveExpiresAfter?: number | 'never';
  /** RET-MEDIA: uploaded files expire after this many seconds (`http_file_share_expires_after`); absent: Prosody's week. */
  fileExpiresAfter?: number;
  /** Whether guest.<domain> admits guests by SASL ANONYMOUS (GST-*); absent: no guest host. */
  guests?: boolean;
}

/** The last label of a domain: the zone libunbound must pass through to the lab DNS. */
const topLevelDomain = (domain: string): string => domain.replace(/\.$/, '').split('.').pop() ?? domain;

/** prosody.cfg.lua for one organisation: one VirtualHost, one MUC component, bound to one loopback address. */
export function prosodyConfig(c: ProsodyConfig): string {
  const hostSsl = `{ certificate = ${luaString(c.certificateFile)}; key = ${luaString(c.keyFile)}; cafile = ${luaString(c.caFile)} }`;
  // pep + vcard4 + vcard_legacy as in Debian's stock config: vcard-temp (XEP-0054) answered from the PEP vCard.
  const modules = ['roster', 'saslauth', 'tls', 'dialback', 'disco', 'version', 'ping', 'posix', 'carbons', ...(c.pep === false ? [] : ['pep', 'vcard4', 'vcard_legacy']), 'admin_shell'];
  // admin_shell (in Debian's stock config too): `prosodyctl shell`, through which the operator ends sessions (SEC-SESSION).
  const upload = c.fileUpload !== false;
  const guarded = c.federationAllowList !== undefined;
  if (guarded && !c.pluginDir) throw new Error('prosody adapter: an allow-list needs the pluginDir of the fixed mod_host_guard');
  if (guarded) modules.push(hostGuardModule);
  if (c.archiveExpiresAfter !== undefined) modules.push('mam');
  // Prosody 0.12 reads a bare number as seconds; its clean-up is a daily mod_cron task (no archive_cleanup_interval).
  const expiry = c.archiveExpiresAfter === undefined ? undefined : luaString(String(c.archiveExpiresAfter));
  return [
    `-- Written by fedconf for ${c.domain}. Regenerated on every start; do not edit.`,
    '',
    `pidfile = ${luaString(c.pidFile)}`,
    `data_path = ${luaString(c.dataDir)}`,
    // Logs go to stdout, which the harness captures in the process log (logTail on failures). Timestamps in UTC,
    // marked so (`!` makes os.date use UTC), as an agency's audit logging would (AUD-TIME).
    `log = { { levels = { min = ${luaString(c.logLevel)} }; to = "console"; timestamps = "!%Y-%m-%dT%H:%M:%SZ" } }`,
    `certificates = ${luaString(c.certificatesDir)}`,
    '',
    '-- Only this organisation\'s loopback address; no BOSH, WebSocket, telnet, components or direct-TLS ports;',
    '-- HTTPS only for the upload component.',
    `interfaces = ${luaList([c.address])}`,
    `local_interfaces = ${luaList([c.address])}`,
    `c2s_ports = { ${c2sPort} }`,
    `s2s_ports = { ${s2sPort} }`,
    'c2s_direct_tls_ports = { }',
    's2s_direct_tls_ports = { }',
    'legacy_ssl_ports = { }',
    'http_ports = { }',
    `https_ports = { ${upload ? httpsPort : ''} }`,
    `http_interfaces = ${luaList([c.address])}`,
    `https_interfaces = ${luaList([c.address])}`,
    `https_ssl = ${hostSsl}`,
    'component_ports = { }',
    '',
    ...(guarded ? [`plugin_paths = ${luaList([c.pluginDir!])}`] : []),
    `modules_enabled = ${luaList(modules)}`,
    // The operator's allow-list: this domain and its MUC service talk s2s only with the listed domains.
    ...(guarded ? [
      `host_guard_blockall = ${luaList([c.domain, mucDomainOf(c.domain)])}`,
      `host_guard_blockall_exceptions = ${luaList(c.federationAllowList!)}`,
    ] : []),
    // Without mod_s2s the server neither listens on 5269 nor opens s2s streams: every stanza to another
    // domain is bounced by the core router with not-allowed ("Communication with remote domains is not enabled").
    // mod_offline is loaded automatically; disabling it is how an operator turns offline storage off.
    `modules_disabled = ${luaList([...(c.federation ? [] : ['s2s']), ...(c.offlineStorage === false ? ['offline'] : [])])}`,
    '',
    ...(expiry ? [`archive_expires_after = ${expiry}`, 'default_archive_policy = true'] : []),
    'authentication = "internal_hashed"',
    'storage = "internal"',
    'allow_registration = false',
    `c2s_require_encryption = ${c.clientPlaintext === true ? 'false' : 'true'}`,
    `s2s_require_encryption = ${c.s2sRequireEncryption === false ? 'false' : 'true'}`,
    // Prosody treats s2s_secure_auth = true as requiring encryption, so the plaintext control turns both off
    // (the usual real-world way to end up with optional s2s TLS).
    `s2s_secure_auth = ${c.s2sRequireEncryption === false || c.s2sSecureAuth === false ? 'false' : 'true'}`,
    `ssl = { cafile = ${luaString(c.caFile)} }`,
    // The legacy-TLS negative control: TLS 1.0+ with OpenSSL's security level 0 (level 1+ refuses 1.0/1.1).
    ...(c.s2sTlsMinVersion === 'TLSv1' ? ['s2s_ssl = { protocol = "tlsv1+"; ciphers = "DEFAULT:@SECLEVEL=0" }'] : []),
    '',
    '-- Name resolution only through the lab DNS: no /etc/hosts, no system resolv.conf, no DNSSEC/DANE.',
    '-- libunbound answers special-use TLDs such as .test itself (NXDOMAIN) unless the zone is made transparent.',
    `unbound = { resolvconf = false; hoststxt = false; forward = ${luaList([c.dnsAddress])}; `
      + `options = { ["local-zone"] = ${luaString(`${topLevelDomain(c.domain)}. transparent`)} } }`,
    'use_dane = false',
    '',
    `VirtualHost ${luaString(c.domain)}`,
    `  ssl = ${hostSsl}`,
    '',
    // Guests: anonymous logins on their own host (Prosody's mod_auth_anonymous; no s2s for them by default).
    // Without it, guest.<domain> is not served and a guest's stream gets host-unknown.
    ...(c.guests === true ? [`VirtualHost ${luaString(guestDomainOf(c.domain))}`, `  ssl = ${hostSsl}`, '  authentication = "anonymous"', ''] : []),
    `Component ${luaString(mucDomainOf(c.domain))} "muc"`,
    `  ssl = ${hostSsl}`,
    '  muc_room_locking = false',
    // Only users of the organisation's own host create rooms: guests join rooms, they do not make them (GST-LIMITS).
    '  restrict_room_creation = "local"',
    ...(expiry ? [`  modules_enabled = ${luaList(['muc_mam'])}`, `  muc_log_expires_after = ${expiry}`, '  muc_log_by_default = true'] : []),
    '',
    // An expired file goes only when the daily mod_cron task prunes it; downloads do not check the expiry (0.12).
    ...(upload ? [`Component ${luaString(uploadDomainOf(c.domain))} "http_file_share"`, `  ssl = ${hostSsl}`,
      ...(c.fileExpiresAfter !== undefined ? [`  http_file_share_expires_after = ${c.fileExpiresAfter}`] : []), ''] : []),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Installation

async function install(progress: Progress): Promise<void> {
  const installed = await installDebianPackages('prosody', debianPackages, progress);
  // A freshly installed package may have started the system's own Prosody on *:5222/5269 (on a machine with
  // systemd); it would hold the ports the lab binds. Stop only an instance we just installed.
  if (installed.includes('prosody')) {
    const active = await run('systemctl', ['is-active', '--quiet', 'prosody']).then(() => true, () => false);
    if (active) {
      progress('stopping and disabling the system prosody service the package started');
      await run('systemctl', ['disable', '--now', 'prosody']);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Start

function checkSettings(settings: LabSettings): Pick<ProsodyConfig, 'archiveExpiresAfter' | 'fileExpiresAfter' | 'federation' | 's2sRequireEncryption' | 's2sTlsMinVersion' | 'fileUpload' | 'offlineStorage' | 'clientPlaintext' | 's2sSecureAuth' | 'federationAllowList' | 'pep'> {
  refuseUnknownSettings('prosody', settings, knownSettings);
  const federationAllowList = allowListOf('prosody', settings);
  const lifetime = retentionOf('prosody', settings);
  const fileExpiresAfter = secondsOf('prosody', settings, 'fileLifetimeSeconds');
  const archiveExpiresAfter = lifetime ?? (settings.retentionSeconds !== undefined || settings.messageArchive === true ? 'never' as const : undefined);
  const { federation, s2sRequireEncryption, s2sTlsMinVersion } = settings;
  if (s2sTlsMinVersion !== undefined && s2sTlsMinVersion !== 'TLSv1' && s2sTlsMinVersion !== 'TLSv1.2') {
    throw new Error(`prosody adapter: lab setting "s2sTlsMinVersion" must be TLSv1 or TLSv1.2, got ${JSON.stringify(s2sTlsMinVersion)}`);
  }
  const { fileUpload, offlineStorage, clientPlaintext, s2sSecureAuth, pep } = settings;
  // stockRateLimits: nothing to do, the lab relaxes none of Prosody's limits.
  return {
    federation: federation ?? true, ...(s2sRequireEncryption !== undefined ? { s2sRequireEncryption } : {}), ...(s2sTlsMinVersion ? { s2sTlsMinVersion } : {}),
    ...(offlineStorage !== undefined ? { offlineStorage } : {}), ...(fileUpload !== undefined ? { fileUpload } : {}), ...(clientPlaintext !== undefined ? { clientPlaintext } : {}),
    ...(s2sSecureAuth !== undefined ? { s2sSecureAuth } : {}), ...(federationAllowList ? { federationAllowList } : {}),
    ...(archiveExpiresAfter !== undefined ? { archiveExpiresAfter } : {}), ...(pep !== undefined ? { pep } : {}),
    ...(fileExpiresAfter !== undefined ? { fileExpiresAfter } : {}),
  };
}

interface RunAs {
  /** Prefix that runs a command as the Prosody user (empty when the harness is not root). */
  prefix: string[];
  uid?: number;
  gid?: number;
}

async function runAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', prosodyUser]), run('id', ['-g', prosodyUser])]);
  return {
    // setpriv execs the command, so the PID we track is Prosody's own.
    prefix: ['setpriv', `--reuid=${prosodyUser}`, `--regid=${prosodyUser}`, '--init-groups', '--'],
    uid: Number(uid.trim()),
    gid: Number(gid.trim()),
  };
}

/** A directory the Prosody process owns. */
function ownedDir(path: string, user: RunAs): string {
  mkdirSync(path, { recursive: true, mode: 0o750 });
  if (user.uid !== undefined && user.gid !== undefined) chownSync(path, user.uid, user.gid);
  return path;
}

/** A copy of a (possibly root-only) file that the Prosody process can read. */
function ownedCopy(from: string, to: string, user: RunAs, mode = 0o640): string {
  copyFileSync(from, to);
  chmodSync(to, mode);
  if (user.uid !== undefined && user.gid !== undefined) chownSync(to, user.uid, user.gid);
  return to;
}

async function start(plan: OrganisationPlan, progress: Progress): Promise<RunningOrganisation> {
  const checked = checkSettings(plan.settings);
  const { federation } = checked;
  const user = await runAs();
  mkdirSync(plan.dir, { recursive: true });
  const dataDir = ownedDir(join(plan.dir, 'data'), user);
  const runDir = ownedDir(join(plan.dir, 'run'), user);
  const certsDir = ownedDir(join(plan.dir, 'certs'), user);
  const certificateFile = ownedCopy(plan.tls.chainFile || plan.tls.certFile, join(certsDir, `${plan.domain}.crt`), user);
  const keyFile = ownedCopy(plan.tls.keyFile, join(certsDir, `${plan.domain}.key`), user, 0o600);
  const caFile = ownedCopy(plan.caFile, join(certsDir, 'lab-ca.pem'), user, 0o644);

  let pluginDir: string | undefined;
  if (checked.federationAllowList) {
    pluginDir = ownedDir(join(plan.dir, 'modules'), user);
    writeFileSync(join(pluginDir, `mod_${hostGuardModule}.lua`), fixedHostGuard(readFileSync(hostGuardSource, 'utf8')), { mode: 0o644 });
  }

  const configFile = join(plan.dir, 'prosody.cfg.lua');
  const level = process.env.FEDCONF_PROSODY_LOG_LEVEL;
  writeFileSync(configFile, prosodyConfig({
    domain: plan.domain,
    address: plan.address,
    dnsAddress: plan.dnsAddress,
    dataDir,
    pidFile: join(runDir, 'prosody.pid'),
    certificatesDir: certsDir,
    certificateFile,
    keyFile,
    caFile,
    ...checked,
    guests: guestsAdmitted(plan.settings),
    ...(pluginDir ? { pluginDir } : {}),
    logLevel: level === 'debug' || level === 'warn' || level === 'error' ? level : 'info',
  }), { mode: 0o644 });

  if (user.prefix.length > 0) {
    // Prosody must reach its files through every parent directory (a 0700 temp dir would hide them).
    await run(user.prefix[0]!, [...user.prefix.slice(1), 'test', '-r', configFile, '-a', '-r', keyFile, '-a', '-w', dataDir])
      .catch(() => {
        throw new Error(`prosody adapter: user ${prosodyUser} cannot read ${configFile} or write ${dataDir}; `
          + `every parent directory of ${plan.dir} must be searchable by that user (FEDCONF_LAB_HOME names a folder it cannot reach: unset it and the lab picks one it can)`);
      });
  }

  progress(`starting Prosody for ${plan.domain} on ${plan.address}`);
  const started = Date.now();
  const command = [...user.prefix, 'prosody', '-F', '--config', configFile];
  const proc = spawnServer({
    name: `prosody-${plan.name}`,
    command: command[0]!,
    args: command.slice(1),
    marker: configFile,
    logFile: join(plan.dir, 'prosody.log'),
    cwd: plan.dir,
  });
  try {
    const ports = [c2sPort, ...(federation ? [s2sPort] : []), ...(checked.fileUpload !== false ? [httpsPort] : [])];
    await waitForPorts('prosody', proc, plan.address, ports, startTimeoutMs);
    progress(`Prosody for ${plan.domain} accepts on ${ports.map((p) => `${plan.address}:${p}`).join(', ')} after ${Date.now() - started} ms`);

    const description: OrganisationDescription = {
      implementation: 'prosody',
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
      provisioning: { method: 'prosodyctl', configFile },
      ...(plan.settings.e2eeClientPlaintext === true ? { clientFault: 'e2ee-plaintext' as const } : {}),
    };
    const reported = await xmppServerVersion(description, plan.caFile);
    if (!/prosody/i.test(reported.name)) {
      throw new Error(`prosody adapter: ${plan.domain} reports software "${reported.name}" ${reported.version}, not Prosody`);
    }
    description.version = reported.version;
    return { description, processes: [proc] };
  } catch (error) {
    const tail = logTail(proc, 25);
    await stopProcess(proc);
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`Prosody for ${plan.domain} did not come up: ${message}\n--- ${proc.logFile} (tail) ---\n${tail}`, { cause: error });
  }
}


export const prosodyAdapter: NativeAdapter = {
  id: 'prosody',
  protocol: 'xmpp',
  ports: [c2sPort, s2sPort, httpsPort],
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
