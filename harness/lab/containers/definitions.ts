/**
 * What the containers provider starts, as plain data: one container per organisation (official image, a
 * fixed address and the organisation's names on the lab network, the files copied in, the ports published
 * on the host, environment, how to tell it is ready), the lab DNS container and the network.
 *
 * Pure: no engine, no file system. The unit tests check it without Docker; start.ts turns it into
 * testcontainers calls. The server configuration comes from the native adapters' own builders
 * (harness/lab/native/synapse.ts, prosody.ts), so a product runs with the same settings in both labs;
 * only paths, bind addresses and the lab network differ.
 */
import { posix } from 'node:path';
import { stringify } from 'yaml';
import type { ProductDeclaration } from '../../config/products.ts';
import type { Certificate } from '../ca.ts';
import type { LabSettings, OrganisationPlan } from '../native/adapter.ts';
import { mucDomainOf, prosodyAdapter, prosodyConfig } from '../native/prosody.ts';
import { homeserverConfig, logConfig, SYNAPSE_VERSION, synapseAdapter } from '../native/synapse.ts';
import type { Assignment } from '../provider.ts';
import { organisationNames, type OrgName, type Protocol } from '../types.ts';

/** The lab network's /24 unless FEDCONF_CONTAINER_NET says otherwise: the block docker-compose.yml uses. */
export const DEFAULT_CONTAINER_NET = '172.30.77';

/** Where published ports bind on the host: loopback only, never every interface. */
export const PUBLISH_ADDRESS = '127.0.0.1';

/** The lab DNS: CoreDNS's official image serves the lab zone from a file and forwards nothing. */
export const DNS_IMAGE = 'coredns/coredns:1.11.3';

export type Implementation = 'synapse' | 'prosody' | 'dendrite' | 'ejabberd';

interface ImageSource {
  repository: string;
  /** The version the image runs unless the declaration asks for another (`--product <id>@<version>`). */
  defaultVersion: string;
  tag(version: string): string;
  /** Accepted versions (they become image tags). */
  versionPattern: RegExp;
}

/** Official images. Dendrite and ejabberd are listed so the names are settled; their definitions do not exist yet. */
export const images: Record<Implementation, ImageSource> = {
  // Tags are the release with a v: matrixdotorg/synapse:v1.163.2.
  synapse: { repository: 'matrixdotorg/synapse', defaultVersion: SYNAPSE_VERSION, tag: (v) => `v${v}`, versionPattern: /^\d+\.\d+\.\d+([a-z0-9.]*)?$/i },
  // The Prosody project's own image (the older prosody/prosody is unmaintained); 0.12 matches Debian bookworm's 0.12.3.
  prosody: { repository: 'prosodyim/prosody', defaultVersion: '0.12', tag: (v) => v, versionPattern: /^\d+\.\d+(\.\d+)?$/ },
  // Published by element-hq's release workflow under the old Docker Hub namespace (also ghcr.io/element-hq/dendrite-monolith).
  dendrite: { repository: 'matrixdotorg/dendrite-monolith', defaultVersion: '0.15.0', tag: (v) => `v${v}`, versionPattern: /^\d+\.\d+\.\d+$/ },
  // ProcessOne's ecs image (also ghcr.io/processone/ejabberd); 23.01 matches Debian bookworm's package.
  ejabberd: { repository: 'ejabberd/ecs', defaultVersion: '23.01', tag: (v) => v, versionPattern: /^\d+\.\d+(\.\d+)?$/ },
};

/** Host paths of what the provider made for one organisation before anything starts. */
export interface OrganisationMaterial {
  /** Certificate for the domain and its sub-services, signed by the lab CA (harness/lab/ca.ts). */
  tls: Certificate;
  /** Synapse: a 0600 file holding the registration shared secret; the value never enters a definition. */
  registrationSecretFile?: string;
  /** Synapse: the server signing key file. */
  signingKeyFile?: string;
}

export interface ContainerLabOptions {
  /** First three octets of the lab network's /24 (default DEFAULT_CONTAINER_NET). */
  net?: string;
  /** Host path of the lab CA certificate (PEM). */
  caFile: string;
  material: Record<OrgName, OrganisationMaterial>;
}

/** A host file copied into the container before it starts (nothing is bind-mounted from the host). */
export interface FileCopy { source: string; target: string; mode: number }
/** Generated text copied into the container before it starts. */
export interface ContentCopy { content: string; target: string; mode: number }

/** A container port published on the host, on PUBLISH_ADDRESS at a port the engine picks. */
export interface PublishedPort {
  container: number;
  hostIp: typeof PUBLISH_ADDRESS;
  purpose: 'client' | 'federation';
}

/** When a container counts as started. */
export type ReadyCheck =
  /** An HTTP GET on a published port answers `status`. */
  | { kind: 'http'; port: number; path: string; status: number }
  /** Every published port accepts connections. */
  | { kind: 'listening-ports' }
  /** A line matching `pattern` appears in the container's output. */
  | { kind: 'log'; pattern: string };

export interface ContainerDefinition {
  role: 'dns' | OrgName;
  image: string;
  /** Fixed address and DNS names on the lab network. */
  network: { ipAddress: string; aliases: string[] };
  /** Resolvers the engine gives the container (its embedded DNS answers the aliases and forwards the rest here). */
  dns: string[];
  entrypoint?: string[];
  command?: string[];
  env: Record<string, string>;
  files: FileCopy[];
  contents: ContentCopy[];
  ports: PublishedPort[];
  ready: ReadyCheck[];
  startupTimeoutMs: number;
}

export interface OrganisationContainer extends ContainerDefinition {
  role: OrgName;
  domain: string;
  protocol: Protocol;
  implementation: Implementation;
  /** Product declaration id. */
  product: string;
  /** The version the image was chosen for (the report states what the running server says). */
  version: string;
  mucDomain?: string;
  clientPort: number;
  /** Absent when the server does not federate (a negative control keeps its s2s port closed). */
  federationPort?: number;
  /** How users are created once it runs; paths are inside the container. */
  provisioning:
    | { method: 'synapse-shared-secret' }
    | { method: 'prosodyctl'; configFile: string; user: string };
}

export interface ContainerLab {
  /** A bridge network of the lab's own, with fixed addresses so the lab DNS can name every server. */
  network: { subnet: string; gateway: string };
  dns: ContainerDefinition;
  organisations: Record<OrgName, OrganisationContainer>;
}

/** Fixed host numbers on the lab /24, as in docker-compose.yml and the native lab. */
const hostNumber: Record<OrgName | 'dns', number> = { 'org-a': 11, 'org-b': 12, 'org-c': 13, dns: 53 };

export const domainOf = (org: OrgName): string => `${org}.test`;

const knownSettings: ReadonlySet<string> = new Set<keyof LabSettings>(['federation']);

/** The implementation and version a product asks for, checked; throws a message naming the declaration. */
export function imageFor(product: ProductDeclaration): { implementation: Implementation; version: string; image: string } {
  const adapter = product.lab?.adapter;
  if (!adapter || !(adapter in images)) {
    throw new Error(`${product.file}: product "${product.id}" has no lab.adapter the containers provider knows; ` +
      `it cannot be started in a container (known: ${Object.keys(images).join(', ')}).`);
  }
  const implementation = adapter as Implementation;
  const source = images[implementation];
  const version = product.lab?.version ?? source.defaultVersion;
  if (!source.versionPattern.test(version)) throw new Error(`${product.id}: "${version}" is not a ${implementation} image version`);
  return { implementation, version, image: `${source.repository}:${source.tag(version)}` };
}

/** Every name that must resolve to an organisation's server (the domain, and conference.<domain> for XMPP). */
export function hostNamesOf(implementation: Implementation, domain: string): string[] {
  return [domain, ...(implementation === 'prosody' || implementation === 'ejabberd' ? [mucDomainOf(domain)] : [])];
}

function checkSettings(product: ProductDeclaration): { federation: boolean } {
  const settings = product.lab?.settings ?? {};
  for (const key of Object.keys(settings)) {
    if (!knownSettings.has(key)) throw new Error(`${product.id}: the containers provider does not know lab setting "${key}"`);
  }
  if (settings.federation !== undefined && typeof settings.federation !== 'boolean') {
    throw new Error(`${product.id}: lab setting federation must be true or false, got ${JSON.stringify(settings.federation)}`);
  }
  return { federation: settings.federation ?? true };
}

function checkNet(net: string): void {
  const octets = net.split('.');
  if (octets.length !== 3 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) {
    throw new Error(`FEDCONF_CONTAINER_NET: "${net}" is not a /24 prefix of three octets (e.g. ${DEFAULT_CONTAINER_NET})`);
  }
}

/**
 * The containers for a lab: org-a (the product under test), org-b (its peer), org-c (the outsider), the
 * lab DNS and the network. Throws, before anything starts, for a product no container definition exists for.
 */
export function containerDefinitions(assignment: Assignment, options: ContainerLabOptions): ContainerLab {
  const net = options.net ?? DEFAULT_CONTAINER_NET;
  checkNet(net);
  const address = (who: OrgName | 'dns') => `${net}.${hostNumber[who]}`;
  const network = { subnet: `${net}.0/24`, gateway: `${net}.1`, dnsAddress: address('dns') };

  const organisations = {} as Record<OrgName, OrganisationContainer>;
  for (const org of organisationNames) {
    const product = assignment[org];
    const { implementation, version, image } = imageFor(product);
    const common = {
      role: org, image, product: product.id, implementation, version, domain: domainOf(org),
      network: { ipAddress: address(org), aliases: hostNamesOf(implementation, domainOf(org)) },
      dns: [network.dnsAddress],
    };
    const settings = checkSettings(product);
    const material = options.material[org];
    switch (implementation) {
      case 'synapse':
        organisations[org] = synapseContainer(common, settings, material, options.caFile, network.subnet);
        break;
      case 'prosody':
        organisations[org] = prosodyContainer(common, settings, material, options.caFile, network.dnsAddress);
        break;
      default:
        throw new Error(`${product.id}: the containers provider has no ${implementation} definition yet ` +
          `(image ${image}); run it on the native lab: fedconf run --product ${product.id}`);
    }
  }

  return {
    network: { subnet: network.subnet, gateway: network.gateway },
    dns: dnsContainer(network.dnsAddress, organisations),
    organisations,
  };
}

type Common = Pick<OrganisationContainer, 'role' | 'image' | 'product' | 'implementation' | 'version' | 'domain' | 'network' | 'dns'>;

function requireFile(value: string | undefined, what: string, org: OrgName): string {
  if (!value) throw new Error(`${org}: the containers provider needs ${what} before the definitions are made`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Synapse: the image's /start.py runs the homeserver with the config at SYNAPSE_CONFIG_PATH.

const SYNAPSE_CLIENT_PORT = 8008;
const SYNAPSE_FEDERATION_PORT = 8448;

function synapseContainer(common: Common, settings: { federation: boolean }, material: OrganisationMaterial, caFile: string, subnet: string): OrganisationContainer {
  const dir = '/data';
  const at = (...parts: string[]) => posix.join(dir, ...parts);
  const tls: Certificate = { certFile: at('tls', `${common.domain}.pem`), keyFile: at('tls', `${common.domain}.key`), chainFile: at('tls', `${common.domain}.chain.pem`) };
  const files = {
    log: at('homeserver.log'),
    logConfig: at('log.config.yaml'),
    secret: at('registration_shared_secret'),
    signingKey: at(`${common.domain}.signing.key`),
    database: at('homeserver.db'),
    media: at('media_store'),
  };
  const plan: OrganisationPlan = {
    name: common.role, domain: common.domain,
    // Inside the container's own network namespace; on the host only PUBLISH_ADDRESS is bound.
    address: '0.0.0.0',
    dir, tls, caFile: at('tls', 'lab-ca.pem'), dnsAddress: common.dns[0] ?? '', resolvConf: '/etc/resolv.conf',
    productId: common.product, settings: { federation: settings.federation },
  };
  const config = homeserverConfig(plan, files);
  // The native lab allows loopback; here the peers are on the lab network (private addresses Synapse blocks by default).
  config.ip_range_whitelist = [subnet];
  return {
    ...common,
    protocol: 'matrix',
    // The copied files belong to root and /data is the image's own volume: run as root inside this throwaway container.
    env: { SYNAPSE_CONFIG_PATH: at('homeserver.yaml'), UID: '0', GID: '0' },
    contents: [
      { content: stringify(config, { aliasDuplicateObjects: false }), target: at('homeserver.yaml'), mode: 0o600 },
      { content: stringify(logConfig(files.log)), target: files.logConfig, mode: 0o644 },
    ],
    files: [
      { source: requireFile(material.registrationSecretFile, 'the registration shared secret file', common.role), target: files.secret, mode: 0o600 },
      { source: requireFile(material.signingKeyFile, 'the signing key file', common.role), target: files.signingKey, mode: 0o600 },
      { source: material.tls.chainFile, target: tls.chainFile, mode: 0o644 },
      { source: material.tls.keyFile, target: tls.keyFile, mode: 0o600 },
      { source: caFile, target: plan.caFile, mode: 0o644 },
    ],
    ports: [
      { container: SYNAPSE_CLIENT_PORT, hostIp: PUBLISH_ADDRESS, purpose: 'client' },
      { container: SYNAPSE_FEDERATION_PORT, hostIp: PUBLISH_ADDRESS, purpose: 'federation' },
    ],
    ready: [{ kind: 'http', port: SYNAPSE_CLIENT_PORT, path: '/health', status: 200 }, { kind: 'listening-ports' }],
    startupTimeoutMs: 180_000,
    clientPort: SYNAPSE_CLIENT_PORT,
    // Synapse keeps its federation listener with an empty allow-list; the negative control refuses there.
    federationPort: SYNAPSE_FEDERATION_PORT,
    provisioning: { method: 'synapse-shared-secret' },
  };
}

// ---------------------------------------------------------------------------------------------
// Prosody: the image's /entrypoint.sh starts Prosody as user prosody with /etc/prosody/prosody.cfg.lua.

const PROSODY_C2S_PORT = 5222;
const PROSODY_S2S_PORT = 5269;

function prosodyContainer(common: Common, settings: { federation: boolean }, material: OrganisationMaterial, caFile: string, dnsAddress: string): OrganisationContainer {
  const certs = '/etc/prosody/certs';
  const configFile = '/etc/prosody/prosody.cfg.lua';
  const certificateFile = posix.join(certs, `${common.domain}.crt`);
  const keyFile = posix.join(certs, `${common.domain}.key`);
  const labCa = posix.join(certs, 'lab-ca.pem');
  const config = prosodyConfig({
    domain: common.domain,
    // Inside the container's own network namespace; on the host only PUBLISH_ADDRESS is bound.
    address: '0.0.0.0',
    dnsAddress,
    dataDir: '/var/lib/prosody',
    pidFile: '/var/run/prosody/prosody.pid',
    certificatesDir: certs,
    certificateFile,
    keyFile,
    caFile: labCa,
    federation: settings.federation,
    logLevel: 'info',
  });
  const ports: PublishedPort[] = [{ container: PROSODY_C2S_PORT, hostIp: PUBLISH_ADDRESS, purpose: 'client' }];
  if (settings.federation) ports.push({ container: PROSODY_S2S_PORT, hostIp: PUBLISH_ADDRESS, purpose: 'federation' });
  return {
    ...common,
    protocol: 'xmpp',
    mucDomain: mucDomainOf(common.domain),
    // Copied files belong to root; the key must be readable by the prosody user the image's entrypoint switches to.
    entrypoint: ['/bin/sh', '-c', `chown -R prosody:prosody ${certs} && exec /entrypoint.sh "$@"`, 'fedconf-prosody'],
    command: ['prosody', '-F'],
    env: {},
    contents: [{ content: config, target: configFile, mode: 0o644 }],
    files: [
      { source: material.tls.chainFile, target: certificateFile, mode: 0o644 },
      { source: material.tls.keyFile, target: keyFile, mode: 0o600 },
      { source: caFile, target: labCa, mode: 0o644 },
    ],
    ports,
    ready: [{ kind: 'listening-ports' }],
    startupTimeoutMs: 60_000,
    clientPort: PROSODY_C2S_PORT,
    ...(settings.federation ? { federationPort: PROSODY_S2S_PORT } : {}),
    provisioning: { method: 'prosodyctl', configFile, user: 'prosody' },
  };
}

// ---------------------------------------------------------------------------------------------
// The lab DNS: the zone `test.` with every server's names and the SRV records peers look up.

function srvRecordsOf(implementation: Implementation, domain: string): Array<{ service: string; target: string; port: number }> {
  return implementation === 'synapse' ? synapseAdapter.srvRecords(domain) : prosodyAdapter.srvRecords(domain);
}

/** A zone file for `test.`: A records for every organisation's names, SRV records as the native lab serves them. */
export function labZone(dnsAddress: string, organisations: Record<OrgName, OrganisationContainer>): string {
  const lines = [
    '$ORIGIN test.',
    '$TTL 60',
    '@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60',
    '@ IN NS ns.test.',
    `ns.test. IN A ${dnsAddress}`,
  ];
  for (const org of organisationNames) {
    const o = organisations[org];
    for (const name of o.network.aliases) lines.push(`${name}. IN A ${o.network.ipAddress}`);
    for (const s of srvRecordsOf(o.implementation, o.domain)) lines.push(`${s.service}. IN SRV 0 0 ${s.port} ${s.target}.`);
  }
  return `${lines.join('\n')}\n`;
}

function dnsContainer(dnsAddress: string, organisations: Record<OrgName, OrganisationContainer>): ContainerDefinition {
  // Only the zone `test.` is served; any other name gets REFUSED. Nothing is forwarded.
  const corefile = ['test:53 {', '    file /etc/coredns/test.zone', '    errors', '}', ''].join('\n');
  return {
    role: 'dns',
    image: DNS_IMAGE,
    network: { ipAddress: dnsAddress, aliases: ['ns.test'] },
    dns: [],
    command: ['-conf', '/etc/coredns/Corefile'],
    env: {},
    files: [],
    contents: [
      { content: corefile, target: '/etc/coredns/Corefile', mode: 0o644 },
      { content: labZone(dnsAddress, organisations), target: '/etc/coredns/test.zone', mode: 0o644 },
    ],
    ports: [],
    ready: [{ kind: 'log', pattern: 'CoreDNS-' }],
    startupTimeoutMs: 30_000,
  };
}
