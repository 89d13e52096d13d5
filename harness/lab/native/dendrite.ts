/**
 * Dendrite (Matrix) in the native lab: built from its Go module with the machine's Go toolchain, one
 * monolith process per organisation (SQLite files, in-process NATS), name resolution confined to the lab
 * DNS through a private mount namespace, TLS trust confined to the lab CA.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { stringify } from 'yaml';
import { installDir } from '../../config/paths.ts';
import { matrixServerVersion } from '../../probes/matrix-version.ts';
import { logTail, spawnServer, stopProcess } from '../processes.ts';
import type { OrganisationDescription } from '../types.ts';
import { portAccepts } from '../wait.ts';
import { runLogged, waitHttpAndPort } from './ready.ts';
import { guestsAdmitted, guestSwitches, refuseUnknownSettings, type LabSettings, type NativeAdapter, type OrganisationPlan, type RunningOrganisation } from './adapter.ts';

const run = promisify(execFile);

/**
 * The Dendrite release the lab builds unless a declaration pins another: v0.15.2 (tagged 2025-08-15), the
 * newest tag found on the Go module proxy (which refuses to list versions here, so later tags were asked
 * for by name: none served). Its go.mod asks for Go ≥ 1.23; built and run here with Go 1.26. A cold build
 * on 2 cores took 26 s of module downloads and 197 s of compiling.
 */
export const DENDRITE_VERSION = '0.15.2';

const MODULE = 'github.com/element-hq/dendrite';
const CLIENT_PORT = 8008;
const FEDERATION_PORT = 8448;
const START_TIMEOUT_MS = 60_000;

/**
 * Checked in v0.15.2's setup/config (config_global.go, config_federationapi.go) and dendrite-sample.yaml: the only
 * federation switches are global.disable_federation (nobody) and federation_api.deny_networks / allow_networks (IP
 * ranges of outbound requests, not peer names, and nothing inbound). The feature request is open (issue #3487, PR #3498).
 */
const dendriteHasNoRetention = 'Dendrite has no message retention: no lifetime setting, no purge of room history, m.room.retention is not honoured';

const dendriteHasNoAllowList = 'Dendrite has no federation allow-list: its configuration offers only disable_federation '
  + '(federate with nobody) and deny_networks/allow_networks (IP ranges of outbound requests); see its issue #3487';

/** The lab settings this adapter honours; anything else is refused (see LabSettings). */
const knownSettings: ReadonlyArray<keyof LabSettings> = ['federation', 'stockRateLimits', ...guestSwitches];

/**
 * A server signing key in Dendrite's format (what its `generate-keys --private-key` writes): a PEM block
 * "MATRIX PRIVATE KEY" with a `Key-ID: ed25519:<id>` header ([A-Za-z0-9_] only) around the 32-byte
 * ed25519 seed. Made here rather than by building and running a second binary.
 */
export function newDendriteSigningKey(): string {
  const seed = randomBytes(32).toString('base64');
  return `-----BEGIN MATRIX PRIVATE KEY-----\nKey-ID: ed25519:a_${randomBytes(3).toString('hex')}\n\n${seed}\n-----END MATRIX PRIVATE KEY-----\n`;
}

export function createDendriteAdapter(version: string = DENDRITE_VERSION): NativeAdapter {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) throw new Error(`not a Dendrite version: ${JSON.stringify(version)}`);
  const home = join(installDir, `dendrite-${version}`);
  const binary = join(home, 'bin', 'dendrite');

  async function installedVersion(): Promise<string | undefined> {
    if (!existsSync(binary)) return undefined;
    try {
      const { stdout } = await run(binary, ['--version'], { timeout: 30_000 });
      return stdout.trim();
    } catch {
      return undefined;
    }
  }

  return {
    id: version === DENDRITE_VERSION ? 'dendrite' : `dendrite@${version}`,
    lacks: { federationAllowList: dendriteHasNoAllowList, retentionSeconds: dendriteHasNoRetention, redactionRetentionSeconds: 'Dendrite has no setting for how long a redacted event\'s original content is kept' },
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
        progress(`dendrite ${version} already built in ${home}`);
        return;
      }
      const goVersion = await run('go', ['version'], { timeout: 30_000 }).then((r) => r.stdout.trim(), (error: unknown) => {
        throw new Error(`building dendrite needs the Go toolchain (go on PATH): ${error instanceof Error ? error.message : String(error)}`);
      });
      // `go install <module>/cmd/dendrite@v<version>` would be the one-liner, but it also reads the
      // module's list of versions to look for a deprecation notice, and a Go module proxy may refuse that
      // list (the one these machines reach answers 403) while serving the tag itself. So a throwaway
      // module that requires exactly the tag builds it instead: with that one requirement the build list
      // is the tag's own go.mod, as with `go install …@v<version>` (Dendrite's go.mod has no replace
      // directives). Module and build caches stay the user's (GOMODCACHE, GOCACHE).
      const buildDir = join(home, 'build');
      rmSync(buildDir, { recursive: true, force: true });
      mkdirSync(buildDir, { recursive: true });
      mkdirSync(join(home, 'bin'), { recursive: true });
      writeFileSync(join(buildDir, 'go.mod'), 'module fedconf.invalid/dendrite-build\n\ngo 1.23\n');
      const logFile = join(home, 'install.log');
      writeFileSync(logFile, `${new Date().toISOString()} ${goVersion}\n`);
      const started = Date.now();
      progress(`fetching ${MODULE}@v${version} and its dependencies from the Go module proxy (log ${logFile})`);
      await runLogged('go', ['get', `${MODULE}/cmd/dendrite@v${version}`], logFile, { cwd: buildDir });
      progress(`building dendrite v${version} with ${goVersion.replace(/^go version /, '')} (takes a few minutes on 2 cores; log ${logFile})`);
      // -buildvcs=false: the build directory sits inside whatever repository holds the lab home; its
      // git state is not Dendrite's. -trimpath: no build-machine paths in the binary.
      await runLogged('go', ['build', '-buildvcs=false', '-trimpath', '-o', binary, `${MODULE}/cmd/dendrite`], logFile, { cwd: buildDir });
      const now = await installedVersion();
      if (now !== version) {
        throw new Error(`dendrite build in ${home}: expected version ${version}, the binary reports ${now ?? 'nothing'}\n${logTail({ logFile })}`);
      }
      progress(`dendrite ${version} built in ${Math.round((Date.now() - started) / 1000)} s`);
    },

    async start(plan, progress) {
      refuseUnknownSettings('dendrite', plan.settings, knownSettings);
      if (!existsSync(binary)) throw new Error(`dendrite ${version} is not installed (no ${binary}); run install first`);
      for (const port of [CLIENT_PORT, FEDERATION_PORT]) {
        if (await portAccepts(plan.address, port)) throw new Error(`${plan.name}: ${plan.address}:${port} is already in use; dendrite not started`);
      }
      mkdirSync(plan.dir, { recursive: true });
      const files: ConfigFiles = {
        config: join(plan.dir, 'dendrite.yaml'),
        log: join(plan.dir, 'dendrite.log'),
        secret: join(plan.dir, 'registration_shared_secret'),
        signingKey: join(plan.dir, 'matrix_key.pem'),
        data: join(plan.dir, 'data'),
        media: join(plan.dir, 'media_store'),
        jetstream: join(plan.dir, 'jetstream'),
        noCertDir: join(plan.dir, 'no-system-cas'),
      };
      for (const dir of [files.data, files.media, files.jetstream, files.noCertDir]) mkdirSync(dir, { recursive: true });

      // A restart in the same directory keeps the secret, the signing key and the databases, like a real
      // server restart would.
      if (!existsSync(files.secret)) writeFileSync(files.secret, randomBytes(32).toString('base64url') + '\n', { mode: 0o600 });
      chmodSync(files.secret, 0o600);
      if (!existsSync(files.signingKey)) writeFileSync(files.signingKey, newDendriteSigningKey(), { mode: 0o600 });
      chmodSync(files.signingKey, 0o600);
      // Dendrite reads the registration secret from its config only (no *_path option), so the config
      // holds it: written 0600, never logged. The 0600 secret file is what provisioning reads.
      const secret = readFileSync(files.secret, 'utf8').trim();
      writeFileSync(files.config, stringify(dendriteConfig(plan, files, secret), { aliasDuplicateObjects: false }), { mode: 0o600 });
      chmodSync(files.config, 0o600);

      progress(`${plan.name}: starting dendrite ${version} on ${plan.address}`);
      const startedAt = Date.now();
      const proc = spawnServer({
        name: `dendrite-${plan.name}`,
        command: 'unshare',
        args: [
          '-m', '--propagation', 'private',
          'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$1" --config "$2" --http-bind-address "$3" --https-bind-address "$4" --tls-cert "$5" --tls-key "$6"',
          plan.resolvConf, binary, files.config,
          `${plan.address}:${CLIENT_PORT}`, `${plan.address}:${FEDERATION_PORT}`, plan.tls.chainFile, plan.tls.keyFile,
        ],
        marker: files.config,
        logFile: files.log,
        cwd: plan.dir,
        env: serverEnv(plan, files),
      });

      try {
        await waitHttpAndPort('dendrite', proc, `http://${plan.address}:${CLIENT_PORT}/_matrix/client/versions`, plan.address, FEDERATION_PORT, START_TIMEOUT_MS);
        const reported = plan.settings.federation === false ? await landingPageVersion(plan) : (await matrixServerVersion(`https://${plan.address}:${FEDERATION_PORT}`, plan.domain, plan.caFile)).version;
        progress(`${plan.name}: dendrite ${reported} ready in ${Date.now() - startedAt} ms`);
        if (!reported.startsWith(version)) {
          progress(`${plan.name}: note: dendrite reports version ${reported}, declared ${version}`);
        }
        const clientUrl = `http://${plan.address}:${CLIENT_PORT}`;
        const description: OrganisationDescription = {
          implementation: 'dendrite',
          name: plan.name,
          domain: plan.domain,
          address: plan.address,
          product: plan.productId,
          protocol: 'matrix',
          version: reported,
          clientUrl,
          // The HTTPS listener serves every API, the client API included (the plain :8008 is the harness's backend).
          clientTlsEndpoint: `${plan.domain}:${FEDERATION_PORT}`,
          federationEndpoint: `${plan.domain}:${FEDERATION_PORT}`,
          // Dendrite implements Synapse's shared-secret registration endpoint (/_synapse/admin/v1/register).
          provisioning: { method: 'synapse-shared-secret', adminUrl: clientUrl, secret: { file: files.secret } },
        };
        const running: RunningOrganisation = { description, processes: [proc] };
        return running;
      } catch (error) {
        await stopProcess(proc).catch(() => undefined);
        throw error;
      }
    },
  };
}

export const dendriteAdapter: NativeAdapter = createDendriteAdapter();

interface ConfigFiles {
  config: string;
  log: string;
  secret: string;
  signingKey: string;
  data: string;
  media: string;
  jetstream: string;
  /** An empty directory given as SSL_CERT_DIR, so Go reads no CA from /etc/ssl/certs. */
  noCertDir: string;
}

/** dendrite.yaml (config version 2) as an object; see dendrite-sample.yaml in the release for each key. */
function dendriteConfig(plan: OrganisationPlan, files: ConfigFiles, registrationSecret: string): Record<string, unknown> {
  const database = (name: string) => ({ connection_string: `file:${join(files.data, `${name}.db`)}` });
  return {
    version: 2,
    global: {
      server_name: plan.domain,
      private_key: files.signingKey,
      key_validity_period: '168h0m0s',
      trusted_third_party_id_servers: [],
      // true for the negative control: no federation routes are served and outbound requests go nowhere.
      disable_federation: plan.settings.federation === false,
      presence: { enable_inbound: false, enable_outbound: false },
      report_stats: { enabled: false },
      server_notices: { enabled: false },
      // In-process NATS (no listening port) persisting its streams under the organisation's directory.
      jetstream: { addresses: [], storage_path: files.jetstream, topic_prefix: 'Dendrite' },
      metrics: { enabled: false },
      dns_cache: { enabled: false },
    },
    app_service_api: { disable_tls_validation: false, config_files: [] },
    client_api: {
      registration_disabled: true,
      guests_disabled: !guestsAdmitted(plan.settings),
      registration_shared_secret: registrationSecret,
      enable_registration_captcha: false,
      // Off in the lab so bursts of test traffic never wait; stockRateLimits (SEC-BRUTE) turns Dendrite's default back on.
      rate_limiting: { enabled: plan.settings.stockRateLimits === true, threshold: 20, cooloff_ms: 500 },
    },
    federation_api: {
      database: database('federationapi'),
      send_max_retries: 16,
      disable_tls_validation: false,
      disable_http_keepalives: false,
      // No notary servers (the stock default is matrix.org): keys are fetched from each server directly.
      key_perspectives: [],
      prefer_direct_fetch: true,
      // The stock deny list contains loopback, where every lab server lives. Outbound federation may reach
      // loopback and nothing else.
      deny_networks: [],
      allow_networks: ['127.0.0.0/8'],
    },
    key_server: { database: database('keyserver') },
    media_api: {
      database: database('mediaapi'),
      base_path: files.media,
      max_file_size_bytes: 10_485_760,
      dynamic_thumbnails: false,
    },
    mscs: { mscs: [], database: database('mscs') },
    relay_api: { database: database('relayapi') },
    room_server: { database: database('roomserver') },
    sync_api: { database: database('syncapi'), search: { enabled: false } },
    user_api: { account_database: database('userapi'), bcrypt_cost: 4 },
    tracing: { enabled: false },
    // Standard output at INFO; the lab sends it to dendrite.log in the organisation's directory.
    logging: [{ type: 'std', level: 'info' }],
  };
}

/**
 * The server's environment: no proxy settings (Dendrite's federation client honours them); TLS trust
 * only in the lab CA (Go reads SSL_CERT_FILE and, unless SSL_CERT_DIR names another, /etc/ssl/certs
 * too, so SSL_CERT_DIR is an empty directory); the pure-Go resolver, which reads only /etc/resolv.conf
 * (bind-mounted to the lab's), never /etc/nsswitch.conf or a libc plug-in.
 */
function serverEnv(plan: OrganisationPlan, files: ConfigFiles): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    SSL_CERT_FILE: plan.caFile,
    SSL_CERT_DIR: files.noCertDir,
    GODEBUG: 'netdns=go',
  };
  for (const key of Object.keys(process.env)) {
    // Emptied rather than deleted: spawnServer lays this over process.env, and Go ignores empty values.
    if (/^(https?|all|no)_proxy$/i.test(key)) env[key] = '';
  }
  return env;
}



/**
 * With federation disabled Dendrite serves no /_matrix/federation routes, so the version comes from the
 * running server's landing page on the client port ("It works! Dendrite <version> is running").
 */
async function landingPageVersion(plan: OrganisationPlan): Promise<string> {
  const url = `http://${plan.address}:${CLIENT_PORT}/_matrix/static/`;
  const response = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await response.body.text();
  const match = /Dendrite\s+(\S+)\s+is running/.exec(text);
  if (response.statusCode !== 200 || !match?.[1]) throw new Error(`${url} answered ${response.statusCode} without a Dendrite version: ${text.slice(0, 300)}`);
  return match[1];
}

