import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadCatalogue } from '../../harness/catalogue/catalogue.ts';
import { loadProduct, type ProductDeclaration } from '../../harness/config/products.ts';
import {
  containerDefinitions, DNS_IMAGE, type ContainerDefinition, type ContainerLab, type OrganisationMaterial,
} from '../../harness/lab/containers/definitions.ts';
import { containersProvider, noEngineMessage, NoContainerRuntimeError } from '../../harness/lab/containers/provider.ts';
import { buildContainer } from '../../harness/lab/containers/start.ts';
import { SYNAPSE_VERSION } from '../../harness/lab/native/synapse.ts';
import type { Assignment } from '../../harness/lab/provider.ts';
import { organisationNames, type OrgName } from '../../harness/lab/types.ts';

const catalogue = loadCatalogue();
const product = (ref: string) => loadProduct(ref, catalogue);
const assign = (a: ProductDeclaration, peer: ProductDeclaration = a): Assignment => ({ 'org-a': a, 'org-b': peer, 'org-c': peer });

// Host paths only: the definitions never read them.
const material = Object.fromEntries(organisationNames.map((org) => [org, {
  tls: { certFile: `/lab/ca/${org}.test.pem`, keyFile: `/lab/ca/${org}.test.key`, chainFile: `/lab/ca/${org}.test.chain.pem` },
  registrationSecretFile: `/lab/${org}/registration_shared_secret`,
  signingKeyFile: `/lab/${org}/${org}.test.signing.key`,
}])) as Record<OrgName, OrganisationMaterial>;
const caFile = '/lab/ca/ca.pem';
const define = (assignment: Assignment, net?: string): ContainerLab =>
  containerDefinitions(assignment, { caFile, material, ...(net ? { net } : {}) });

const allContainers = (lab: ContainerLab): ContainerDefinition[] => [lab.dns, ...Object.values(lab.organisations)];
const content = (def: ContainerDefinition, target: string): string => {
  const found = def.contents.find((c) => c.target === target);
  if (!found) throw new Error(`${def.role}: nothing copied to ${target}`);
  return found.content;
};

describe('container definitions: a Synapse lab', () => {
  const lab = define(assign(product('synapse')));

  it('runs the official image at the declared version for org-a, org-b and the outsider org-c', () => {
    expect(Object.keys(lab.organisations)).toEqual(['org-a', 'org-b', 'org-c']);
    for (const org of organisationNames) {
      const o = lab.organisations[org];
      expect(o.image).toBe(`matrixdotorg/synapse:v${SYNAPSE_VERSION}`);
      expect(o.domain).toBe(`${org}.test`);
      expect(o.network.aliases).toEqual([`${org}.test`]);
      expect(o.dns).toEqual(['172.30.77.53']);
    }
    expect(lab.organisations['org-c'].network.ipAddress).toBe('172.30.77.13');
    expect(lab.network).toEqual({ subnet: '172.30.77.0/24', gateway: '172.30.77.1' });
  });

  it('publishes the client and federation ports on 127.0.0.1 only; nothing binds 0.0.0.0 on the host', () => {
    expect(lab.organisations['org-a'].ports.map((p) => [p.container, p.purpose])).toEqual([[8008, 'client'], [8448, 'federation']]);
    for (const def of allContainers(lab)) for (const port of def.ports) expect(port.hostIp).toBe('127.0.0.1');
    expect(lab.dns.ports).toEqual([]);
  });

  it('copies in the generated config, the certificate, the key and the lab CA, and the config trusts only that CA', () => {
    const a = lab.organisations['org-a'];
    expect(a.files).toEqual(expect.arrayContaining([
      { source: caFile, target: '/data/tls/lab-ca.pem', mode: 0o644 },
      { source: '/lab/ca/org-a.test.chain.pem', target: '/data/tls/org-a.test.chain.pem', mode: 0o644 },
      { source: '/lab/ca/org-a.test.key', target: '/data/tls/org-a.test.key', mode: 0o600 },
      { source: '/lab/org-a/registration_shared_secret', target: '/data/registration_shared_secret', mode: 0o600 },
    ]));
    const config = parse(content(a, '/data/homeserver.yaml')) as Record<string, unknown>;
    expect(config.server_name).toBe('org-a.test');
    expect(config.federation_custom_ca_list).toEqual(['/data/tls/lab-ca.pem']);
    expect(config.tls_certificate_path).toBe('/data/tls/org-a.test.chain.pem');
    expect(config.ip_range_whitelist).toEqual(['172.30.77.0/24']);
    // The secret is referenced by path; its value is never part of a definition.
    expect(config.registration_shared_secret_path).toBe('/data/registration_shared_secret');
    expect(config).not.toHaveProperty('registration_shared_secret');
    expect(a.env).toMatchObject({ SYNAPSE_CONFIG_PATH: '/data/homeserver.yaml' });
    expect(a.ready).toEqual([{ kind: 'http', port: 8008, path: '/health', status: 200 }, { kind: 'listening-ports' }]);
  });

  it('runs a lab DNS that names every organisation, org-c included, and forwards nothing', () => {
    expect(lab.dns.image).toBe(DNS_IMAGE);
    expect(lab.dns.network.ipAddress).toBe('172.30.77.53');
    const zone = content(lab.dns, '/etc/coredns/test.zone');
    expect(zone).toContain('org-c.test. IN A 172.30.77.13');
    expect(zone).toContain('_matrix-fed._tcp.org-c.test. IN SRV 0 0 8448 org-c.test.');
    const corefile = content(lab.dns, '/etc/coredns/Corefile');
    expect(corefile).toMatch(/^test:53 \{/);
    expect(corefile).not.toMatch(/forward|proxy/);
  });

  it('takes the version from --product <id>@<version>', () => {
    expect(define(assign(product('synapse@1.150.0'))).organisations['org-a'].image).toBe('matrixdotorg/synapse:v1.150.0');
  });

  it('honours the lab network block and refuses a malformed one', () => {
    expect(define(assign(product('synapse')), '10.9.8').organisations['org-b'].network.ipAddress).toBe('10.9.8.12');
    expect(() => define(assign(product('synapse')), '10.9')).toThrow(/FEDCONF_CONTAINER_NET/);
  });
});

describe('container definitions: a Prosody lab', () => {
  const lab = define(assign(product('prosody')));

  it('runs the official image with the domain and its MUC service as network names', () => {
    const a = lab.organisations['org-a'];
    expect(a.image).toBe('prosodyim/prosody:0.12');
    expect(a.network).toEqual({ ipAddress: '172.30.77.11', aliases: ['org-a.test', 'conference.org-a.test'] });
    expect(a.mucDomain).toBe('conference.org-a.test');
    expect(a.ports.map((p) => [p.container, p.hostIp])).toEqual([[5222, '127.0.0.1'], [5269, '127.0.0.1']]);
    expect(a.provisioning).toEqual({ method: 'prosodyctl', configFile: '/etc/prosody/prosody.cfg.lua', user: 'prosody' });
  });

  it('copies in the CA and resolves only through the lab DNS', () => {
    const a = lab.organisations['org-a'];
    expect(a.files).toEqual(expect.arrayContaining([{ source: caFile, target: '/etc/prosody/certs/lab-ca.pem', mode: 0o644 }]));
    const config = content(a, '/etc/prosody/prosody.cfg.lua');
    expect(config).toContain('ssl = { cafile = "/etc/prosody/certs/lab-ca.pem" }');
    expect(config).toContain('forward = { "172.30.77.53" }');
    expect(config).toContain('VirtualHost "org-a.test"');
  });

  it('names org-c and its MUC service in the lab DNS, with the XMPP SRV records', () => {
    const zone = content(lab.dns, '/etc/coredns/test.zone');
    expect(zone).toContain('conference.org-c.test. IN A 172.30.77.13');
    expect(zone).toContain('_xmpp-server._tcp.org-c.test. IN SRV 0 0 5269 org-c.test.');
    for (const def of allContainers(lab)) for (const port of def.ports) expect(port.hostIp).toBe('127.0.0.1');
  });

  it('a federation-off variant keeps its s2s port closed and unpublished; its peers keep theirs', () => {
    const off = define(assign(product('prosody-federation-off'), product('prosody')));
    expect(off.organisations['org-a'].ports.map((p) => p.container)).toEqual([5222]);
    expect(off.organisations['org-a'].federationPort).toBeUndefined();
    expect(content(off.organisations['org-a'], '/etc/prosody/prosody.cfg.lua')).toContain('modules_disabled = { "s2s" }');
    expect(off.organisations['org-b'].ports.map((p) => p.container)).toEqual([5222, 5269]);
  });
});

describe('container definitions: what cannot run', () => {
  it('refuses a product without a lab adapter, naming its file', () => {
    const external = { ...product('synapse'), id: 'vendor-x', file: 'vendor-x.yaml' } as ProductDeclaration;
    delete external.lab;
    expect(() => define(assign(external, product('synapse')))).toThrow(/vendor-x\.yaml: product "vendor-x" has no lab\.adapter/);
  });

  it('names the image but refuses an implementation without a container definition yet', () => {
    const dendrite = { ...product('synapse'), id: 'dendrite-x', lab: { adapter: 'dendrite' } } as ProductDeclaration;
    expect(() => define(assign(dendrite, product('synapse')))).toThrow(/no dendrite definition yet \(image matrixdotorg\/dendrite-monolith:v/);
  });
});

describe('container definitions → testcontainers', () => {
  it('binds published ports to 127.0.0.1, puts the container at its fixed address and gives it the lab DNS', async () => {
    const tc = await import('testcontainers');
    const def = define(assign(product('prosody'))).organisations['org-b'];
    const container = buildContainer(tc, def, 'fedconf-lab-test', mkdtempSync(join(tmpdir(), 'fedconf-tc-')));
    const internals = container as unknown as {
      hostConfig: { PortBindings: Record<string, Array<{ HostIp: string; HostPort: string }>>; Dns?: string[] };
      createOpts: { NetworkingConfig: { EndpointsConfig: Record<string, { IPAMConfig: { IPv4Address: string }; Aliases: string[] }> } };
    };
    expect(internals.hostConfig.PortBindings).toEqual({
      '5222/tcp': [{ HostIp: '127.0.0.1', HostPort: '0' }],
      '5269/tcp': [{ HostIp: '127.0.0.1', HostPort: '0' }],
    });
    expect(internals.hostConfig.Dns).toEqual(['172.30.77.53']);
    expect(internals.createOpts.NetworkingConfig.EndpointsConfig['fedconf-lab-test']).toEqual({
      IPAMConfig: { IPv4Address: '172.30.77.12' }, Aliases: ['org-b.test', 'conference.org-b.test'],
    });
  });
});

describe('containers provider without a Docker engine', () => {
  let engineRuns = false;
  beforeAll(async () => {
    const { getContainerRuntimeClient } = await import('testcontainers');
    engineRuns = await getContainerRuntimeClient().then(() => true, () => false);
  });
  const oneLine = /^no Docker engine found \(testcontainers: [^\n]+\); run the embedded native lab instead: fedconf run --product synapse \(without --provider containers\)$/;

  it('up() rejects within a second with the one-line message', async (ctx) => {
    if (engineRuns) ctx.skip(); // this machine has an engine: the check would pass and start containers
    const started = performance.now();
    const error = await containersProvider.up(assign(product('synapse')), () => {}).then(() => undefined, (e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(NoContainerRuntimeError);
    expect((error as Error).message).toMatch(oneLine);
  });

  it('install() rejects the same way, naming the products the user asked for (not a variant\'s peer)', async (ctx) => {
    if (engineRuns) ctx.skip();
    await expect(containersProvider.install([product('synapse')], () => {})).rejects.toThrow(oneLine);
    await expect(containersProvider.install([product('synapse-federation-off'), product('synapse')], () => {}))
      .rejects.toThrow(/fedconf run --product synapse-federation-off \(without --provider containers\)$/);
  });

  it('keeps a multi-line reason on one line', () => {
    expect(noEngineMessage('first\n  second', ['prosody'])).toBe(
      'no Docker engine found (testcontainers: first second); run the embedded native lab instead: fedconf run --product prosody (without --provider containers)');
  });
});
