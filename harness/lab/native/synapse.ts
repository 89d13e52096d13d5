/**
 * Synapse (Matrix) in the native lab: a PyPI install in a venv, one process per organisation,
 * name resolution confined to the lab DNS through a private mount namespace.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { installDir } from '../../config/paths.ts';
import { matrixServerVersion } from '../../probes/matrix-version.ts';
import { logTail, spawnServer, stopProcess } from '../processes.ts';
import { portAccepts } from '../wait.ts';
import type { OrganisationDescription } from '../types.ts';
import { startFederationFilter } from './federation-filter.ts';
import { runLogged, waitHttpAndPort } from './ready.ts';
import { allowListOf, guestsAdmitted, guestSwitches, refuseUnknownSettings, retentionOf, retentionSwitches, secondsOf, type LabSettings, type NativeAdapter, type OrganisationPlan, type RunningOrganisation } from './adapter.ts';

const run = promisify(execFile);

/** The Synapse release the lab installs unless a declaration pins another. */
export const SYNAPSE_VERSION = '1.163.2';

const CLIENT_PORT = 8008;
const FEDERATION_PORT = 8448;
/** Only the wellKnownWrongPort control listens here (https://<domain>/.well-known/matrix/server). */
const WELL_KNOWN_PORT = 443;
/** Only under e2eeKeyEndpointsOff: Synapse's federation listener, plain HTTP behind the lab's federation filter on :8448. */
const FILTERED_BACKEND_PORT = 8449;
const START_TIMEOUT_MS = 60_000;

/** The lab settings this adapter honours; anything else is refused (see LabSettings). */
const knownSettings: ReadonlyArray<keyof LabSettings> = ['federation', 'serverKeysExpired', 'wellKnownWrongPort', 'fileUpload', 'presence', 'clientPlaintext', 'stockRateLimits', 'loginThrottling', 'federationAllowList', 'federationAllowListApplied', 'e2eeClientPlaintext', 'e2eeKeyEndpointsOff', 'e2eeByDefault', 'serverLogging', 'redactionRetentionSeconds', 'redactionPurge', ...retentionSwitches, ...guestSwitches];

/** A rate limit that never bites a test run. */
const unlimited = { per_second: 10_000, burst_count: 100_000 };

/**
 * A server signing key in Synapse's file format (`ed25519 <key id> <unpadded base64 seed>`), made here
 * rather than by `--generate-keys`, which costs a 2 s Python start per organisation.
 */
export function newSigningKey(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  if (seed.length !== 32) throw new Error('ed25519 key export gave no 32-byte seed');
  return `ed25519 a_${randomBytes(3).toString('hex')} ${seed.toString('base64').replace(/=+$/, '')}\n`;
}

export function createSynapseAdapter(version: string = SYNAPSE_VERSION): NativeAdapter {
  if (!/^\d+\.\d+\.\d+([a-z0-9.]*)?$/i.test(version)) throw new Error(`not a Synapse version: ${JSON.stringify(version)}`);
  const venvDir = join(installDir, `synapse-${version}`);
  const python = join(venvDir, 'bin', 'python');

  async function installedVersion(): Promise<string | undefined> {
    if (!existsSync(python)) return undefined;
    try {
      // The distribution's version, not synapse.__version__: that one appends git details of whatever
      // repository the venv sits in (matrix_common runs git in site-packages), e.g. "1.163.2 (b=main,…)".
      const { stdout } = await run(python, ['-c', 'import synapse, importlib.metadata as m; print(m.version("matrix-synapse"))'],
        { timeout: 60_000, env: serverEnv(venvDir) });
      return stdout.trim();
    } catch {
      return undefined;
    }
  }

  return {
    id: version === SYNAPSE_VERSION ? 'synapse' : `synapse@${version}`,
    protocol: 'matrix',
    ports: [CLIENT_PORT, FEDERATION_PORT],

    srvRecords(domain) {
      return [{ service: `_matrix-fed._tcp.${domain}`, target: domain, port: FEDERATION_PORT }];
    },

    extraHostNames() {
      return [];
    },

    async install(progress) {
      const found = await installedVersion();
      if (found === version) {
        progress(`synapse ${version} already installed in ${venvDir}`);
        return;
      }
      mkdirSync(venvDir, { recursive: true });
      const logFile = join(venvDir, 'install.log');
      if (!existsSync(python)) {
        progress(`creating Python venv ${venvDir}`);
        await runLogged('python3', ['-m', 'venv', venvDir], logFile);
      }
      progress(`pip install matrix-synapse==${version} (into ${venvDir})`);
      await runLogged(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', `matrix-synapse==${version}`], logFile);
      const now = await installedVersion();
      if (now !== version) {
        throw new Error(`synapse install in ${venvDir}: expected version ${version}, python reports ${now ?? 'no synapse module'}\n${logTail({ logFile })}`);
      }
      progress(`synapse ${version} installed`);
    },

    async start(plan, progress) {
      checkSettings(plan.settings);
      if (!existsSync(python)) throw new Error(`synapse ${version} is not installed (no ${python}); run install first`);
      // Twisted listens with SO_REUSEPORT: a second server on a taken address:port starts "fine" and the
      // kernel then spreads connections over both. So refuse to start on ports something already holds.
      for (const port of [CLIENT_PORT, FEDERATION_PORT, ...(plan.settings.wellKnownWrongPort ? [WELL_KNOWN_PORT] : []), ...(plan.settings.e2eeKeyEndpointsOff ? [FILTERED_BACKEND_PORT] : [])]) {
        if (await portAccepts(plan.address, port)) throw new Error(`${plan.name}: ${plan.address}:${port} is already in use; synapse not started`);
      }
      mkdirSync(plan.dir, { recursive: true });
      const files = {
        config: join(plan.dir, 'homeserver.yaml'),
        logConfig: join(plan.dir, 'log.config.yaml'),
        log: join(plan.dir, 'homeserver.log'),
        secret: join(plan.dir, 'registration_shared_secret'),
        signingKey: join(plan.dir, `${plan.domain}.signing.key`),
        database: join(plan.dir, 'homeserver.db'),
        media: join(plan.dir, 'media_store'),
      };

      // The secret lives only in this 0600 file; the config refers to it by path. A restart in the same
      // directory keeps it (and the database, and the signing key), like a real server restart would.
      if (!existsSync(files.secret)) writeFileSync(files.secret, randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });
      chmodSync(files.secret, 0o600);

      writeFileSync(files.logConfig, stringify(logConfig(files.log, plan.settings.serverLogging === false ? 'WARNING' : 'INFO')));
      writeFileSync(files.config, stringify(homeserverConfig(plan, files), { aliasDuplicateObjects: false }), { mode: 0o600 });

      if (!existsSync(files.signingKey)) writeFileSync(files.signingKey, newSigningKey(), { mode: 0o600 });

      progress(`${plan.name}: starting synapse ${version} on ${plan.address}`);
      const proc = spawnServer({
        name: `synapse-${plan.name}`,
        command: 'unshare',
        args: [
          '-m', '--propagation', 'private',
          'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$1" -m synapse.app.homeserver -c "$2"',
          plan.resolvConf, python, files.config,
        ],
        marker: files.config,
        logFile: files.log,
        cwd: plan.dir,
        env: serverEnv(venvDir),
      });
      const processes = [proc];
      if (plan.settings.e2eeKeyEndpointsOff === true) processes.push(startFederationFilter(plan, FEDERATION_PORT, FILTERED_BACKEND_PORT));

      try {
        await waitHttpAndPort('synapse', proc, `http://${plan.address}:${CLIENT_PORT}/health`, plan.address, FEDERATION_PORT, START_TIMEOUT_MS);
        const reported = (await matrixServerVersion(`https://${plan.address}:${FEDERATION_PORT}`, plan.domain, plan.caFile)).version;
        if (!reported.startsWith(version)) {
          progress(`${plan.name}: note: synapse reports version ${reported}, declared ${version}`);
        }
        const clientUrl = `http://${plan.address}:${CLIENT_PORT}`;
        const description: OrganisationDescription = {
          implementation: 'synapse',
          name: plan.name,
          domain: plan.domain,
          address: plan.address,
          product: plan.productId,
          protocol: 'matrix',
          version: reported,
          clientUrl,
          // The TLS listener serves the client API too, unless the SEC-TLS-CLIENT control leaves it plain-HTTP only.
          ...(plan.settings.clientPlaintext === true ? {} : { clientTlsEndpoint: `${plan.domain}:${FEDERATION_PORT}` }),
          federationEndpoint: `${plan.domain}:${FEDERATION_PORT}`,
          provisioning: { method: 'synapse-shared-secret', adminUrl: clientUrl, secret: { file: files.secret } },
          ...(plan.settings.e2eeClientPlaintext === true ? { clientFault: 'e2ee-plaintext' as const } : {}),
        };
        const running: RunningOrganisation = { description, processes };
        return running;
      } catch (error) {
        for (const p of processes) await stopProcess(p).catch(() => undefined);
        throw error;
      }
    },
  };
}

export const synapseAdapter: NativeAdapter = createSynapseAdapter();

function checkSettings(settings: LabSettings): void {
  refuseUnknownSettings('synapse', settings, knownSettings);
  allowListOf('synapse', settings);
  retentionOf('synapse', settings);
}

export interface ConfigFiles {
  log: string;
  logConfig: string;
  secret: string;
  signingKey: string;
  database: string;
  media: string;
}

/** homeserver.yaml as an object (see Synapse's config documentation for each key). */
export function homeserverConfig(plan: OrganisationPlan, files: ConfigFiles): Record<string, unknown> {
  const config: Record<string, unknown> = {
    server_name: plan.domain,
    pid_file: join(plan.dir, 'homeserver.pid'),
    listeners: [
      {
        port: CLIENT_PORT,
        bind_addresses: [plan.address],
        type: 'http',
        tls: false,
        x_forwarded: false,
        // `client` also serves /_synapse/admin (shared-secret registration) and the media API.
        resources: [{ names: ['client'], compress: false }],
      },
      {
        port: FEDERATION_PORT,
        bind_addresses: [plan.address],
        type: 'http',
        tls: true,
        x_forwarded: false,
        // `federation` also serves /_matrix/key (server keys) and openid; `client` is where clients reach the
        // client API over TLS (the plain :8008 listener stands where a TLS proxy's backend would).
        resources: [{ names: plan.settings.clientPlaintext === true ? ['federation'] : ['client', 'federation'], compress: false }],
      },
    ],
    tls_certificate_path: plan.tls.chainFile,
    tls_private_key_path: plan.tls.keyFile,
    // Replaces the system trust store for outbound federation: only lab certificates are trusted.
    federation_custom_ca_list: [plan.caFile],
    federation_verify_certificates: true,
    // The default blocklist contains loopback, where every lab server lives.
    ip_range_whitelist: ['127.0.0.0/8'],
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    report_stats: false,
    enable_metrics: false,
    url_preview_enabled: false,
    database: { name: 'sqlite3', args: { database: files.database } },
    media_store_path: files.media,
    signing_key_path: files.signingKey,
    log_config: files.logConfig,
    enable_registration: false,
    // Client-Server API "Guest access": guests register with kind=guest (off in stock Synapse; the lab's deployments offer it).
    allow_guest_access: guestsAdmitted(plan.settings),
    registration_shared_secret_path: files.secret,
    bcrypt_rounds: 4,
    rc_message: unlimited,
    rc_registration: unlimited,
    // failed_attempts stays at Synapse's default (3 failures, then 1 per ~6 s per account): SEC-BRUTE checks it,
    // and no other scenario fails a login.
    rc_login: { address: unlimited, account: unlimited },
    rc_joins: { local: unlimited, remote: unlimited },
    rc_joins_per_room: unlimited,
    rc_invites: { per_room: unlimited, per_user: unlimited, per_issuer: unlimited },
    rc_room_creation: unlimited,
    rc_presence: { per_user: unlimited },
    rc_admin_redaction: unlimited,
    rc_3pid_validation: unlimited,
    rc_third_party_invite: unlimited,
    rc_delayed_event_mgmt: unlimited,
    rc_reports: unlimited,
    rc_user_directory: unlimited,
    rc_profile: unlimited,
    rc_key_requests: unlimited,
    rc_media_create: unlimited,
    rc_federation: { window_size: 1000, sleep_limit: 10_000, sleep_delay: 0, reject_limit: 100_000, concurrent: 100 },
    federation_rr_transactions_per_room_per_second: 10_000,
    // Short backoff after a peer was unreachable (the default is up to 10 minutes); declared in reports.
    federation: { destination_min_retry_interval: '2s', destination_max_retry_interval: '10s' },
  };
  if (plan.settings.stockRateLimits === true) {
    // The rc_* relaxations above keep provisioning and bursts of test traffic from waiting; SEC-BRUTE runs without them.
    for (const key of Object.keys(config)) if (key.startsWith('rc_') || key === 'federation_rr_transactions_per_room_per_second') delete config[key];
  }
  if (plan.settings.loginThrottling === false) {
    // The SEC-BRUTE negative control: no limit on login attempts, failed or not, per account or per address.
    config.rc_login = { address: unlimited, account: unlimited, failed_attempts: unlimited };
  }
  const allowList = allowListOf('synapse', plan.settings);
  if (allowList) {
    // The operator's allow-list: Synapse refuses inbound requests from, and sends nothing to, any other server.
    config.federation_domain_whitelist = [plan.domain, ...allowList];
  }
  if (plan.settings.federation === false) {
    // An empty allow-list: this server federates with nobody, in either direction.
    config.federation_domain_whitelist = [];
  }
  const lifetime = retentionOf('synapse', plan.settings);
  if (lifetime !== undefined) {
    // Message retention: rooms without m.room.retention get the server's lifetime; a room's own is clamped to
    // [1 s, lifetime]. Purge jobs run every 5 s (lab lifetimes are seconds; the default interval is 1 day).
    config.retention = {
      enabled: true,
      default_policy: { max_lifetime: `${lifetime}s` },
      allowed_lifetime_min: '1s',
      allowed_lifetime_max: `${lifetime}s`,
      purge_jobs: [{ interval: '5s' }],
    };
  }
  // The RET-POLICY negative control: the operator asked for a lifetime, retention stays off.
  if (plan.settings.retention === false) config.retention = { enabled: false };
  const redactionPeriod = secondsOf('synapse', plan.settings, 'redactionRetentionSeconds');
  // RET-REDACT: a redacted event's original JSON is replaced by its pruned form this long after the redaction (by a
  // job Synapse runs every 5 minutes); null keeps it forever, the negative control.
  if (redactionPeriod !== undefined) config.redaction_retention_period = `${redactionPeriod}s`;
  if (plan.settings.redactionPurge === false) config.redaction_retention_period = null;
  if (plan.settings.fileUpload === false) {
    // No media repository in this process (the option meant for moving it to a worker): upload and download
    // endpoints are not served at all.
    config.enable_media_repo = false;
  }
  // E2E-DEFAULT: rooms created with the private_chat or trusted_private_chat preset get m.room.encryption.
  if (plan.settings.e2eeByDefault === true) config.encryption_enabled_by_default_for_room_type = 'invite';
  if (plan.settings.e2eeKeyEndpointsOff === true) {
    // The E2E-DM negative control: :8448 is the lab's federation filter, which refuses the federation key
    // endpoints and passes the rest to this listener (federation-filter.ts).
    Object.assign((config.listeners as Array<Record<string, unknown>>)[1]!, { port: FILTERED_BACKEND_PORT, tls: false });
  }
  if (plan.settings.presence === false) {
    // Synapse's documented switch: no presence is tracked, sent over federation or accepted from it.
    config.presence = { enabled: false };
  }
  if (plan.settings.serverKeysExpired === true) {
    // /_matrix/key/v2/server answers valid_until_ts = now + key_refresh_interval; an integer is taken as
    // milliseconds unchecked, so a negative day publishes keys that expired a day ago (the only use of the option).
    config.key_refresh_interval = -86_400_000;
  }
  if (plan.settings.wellKnownWrongPort === true) {
    // Synapse's own server well-known says "<server_name>:443" when the name has no port, expecting a reverse
    // proxy there. Here :443 is a TLS listener with the client API only, so a peer that follows it finds no
    // federation API (the misconfiguration lab-notes warn about).
    config.serve_server_wellknown = true;
    (config.listeners as unknown[]).push({
      port: WELL_KNOWN_PORT, bind_addresses: [plan.address], type: 'http', tls: true, x_forwarded: false,
      resources: [{ names: ['client'], compress: false }],
    });
  }
  return config;
}

/**
 * Python logging config: one text file (the evidence readers') and the same records as JSON lines, INFO (DEBUG on synapse.storage.SQL would log access tokens). Timestamps carry
 * their UTC offset, as an agency's audit logging would (AUD-TIME); Python's default has none.
 */
export function logConfig(logFile: string, level: 'INFO' | 'WARNING' = 'INFO'): Record<string, unknown> {
  return {
    version: 1,
    formatters: {
      precise: { format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s', datefmt: '%Y-%m-%dT%H:%M:%S%z' },
      // Synapse's structured logging: one JSON object per line with `time` (epoch seconds), for central log management (AUD-EXPORT).
      structured: { class: 'synapse.logging.TerseJsonFormatter' },
    },
    handlers: {
      file: { class: 'logging.FileHandler', formatter: 'precise', filename: logFile, encoding: 'utf8' },
      json: { class: 'logging.FileHandler', formatter: 'structured', filename: logFile.replace(/\.log$/, '.jsonl'), encoding: 'utf8' },
    },
    loggers: {
      'synapse.storage.SQL': { level: 'INFO' },
      'twisted': { level: 'WARNING' },
    },
    root: { level, handlers: ['file', 'json'] },
    disable_existing_loggers: false,
  };
}

/**
 * The harness's environment for Synapse: no proxy settings (lab traffic stays on loopback), and git kept
 * from finding the repository around the venv, or Synapse reports its version as "1.163.2 (b=main,…)".
 */
function serverEnv(venvDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', GIT_CEILING_DIRECTORIES: venvDir };
  for (const key of Object.keys(env)) {
    // Emptied rather than deleted: spawnServer lays this over process.env, and Python ignores empty values.
    if (/^(https?|all|no)_proxy$/i.test(key)) env[key] = '';
  }
  return env;
}



