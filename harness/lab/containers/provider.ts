/**
 * The containers provider: the native lab's topology (org-a, org-b, org-c on .test domains, a throwaway CA,
 * the lab's own DNS) with each server in its official image, through testcontainers. For people with a
 * Docker engine; the projects' own machines have none, so this has not been run end to end here.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { labHome } from '../../config/paths.ts';
import type { ProductDeclaration } from '../../config/products.ts';
import { xmppServerVersion } from '../../drivers/xmpp.ts';
import { matrixServerVersion } from '../../probes/matrix-version.ts';
import { LabCA } from '../ca.ts';
import type { Progress } from '../native/adapter.ts';
import { newSigningKey } from '../native/synapse.ts';
import type { Assignment, LabProvider, RunningLab } from '../provider.ts';
import { organisationNames, type OrganisationDescription, type OrgName } from '../types.ts';
import {
  containerDefinitions, DEFAULT_CONTAINER_NET, DNS_IMAGE, domainOf, hostNamesOf, imageFor, PUBLISH_ADDRESS,
  type OrganisationContainer, type OrganisationMaterial,
} from './definitions.ts';
import { startContainers } from './start.ts';

/** No container engine answers: the run cannot use this provider. The message is one line, for the CLI to print. */
export class NoContainerRuntimeError extends Error {
  override name = 'NoContainerRuntimeError';
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

export function noEngineMessage(reason: string, productIds: string[]): string {
  const products = (productIds.length ? productIds : ['<id>']).map((id) => `--product ${id}`).join(' ');
  return `no Docker engine found (testcontainers: ${oneLine(reason)}); ` +
    `run the embedded native lab instead: fedconf run ${products} (without --provider containers)`;
}

/** The products a user would name on the command line: drop the stock products that only play a listed variant's peer. */
function namedProducts(products: ProductDeclaration[]): string[] {
  const ids = [...new Set(products.map((p) => p.id))];
  const peersOnly = new Set(products.map((p) => p.variantOf).filter((id): id is string => !!id));
  const named = ids.filter((id) => !peersOnly.has(id));
  return named.length ? named : ids;
}

/** The engine testcontainers finds (DOCKER_HOST, the socket, …), or a NoContainerRuntimeError; fails in milliseconds when none runs. */
async function requireRuntime(productIds: string[]) {
  const tc = await import('testcontainers');
  try {
    return await tc.getContainerRuntimeClient();
  } catch (error) {
    throw new NoContainerRuntimeError(noEngineMessage(error instanceof Error ? error.message : String(error), productIds), { cause: error });
  }
}

export const containersProvider: LabProvider = {
  name: 'containers',

  /** Pulls the images the products need (an image already there is not pulled again). */
  async install(products, progress) {
    const client = await requireRuntime(namedProducts(products));
    const tc = await import('testcontainers');
    for (const image of new Set([DNS_IMAGE, ...products.map((p) => imageFor(p).image)])) {
      progress(`pulling ${image} (if missing)`);
      await client.image.pull(tc.ImageName.fromString(image));
    }
  },

  up: containersUp,
};

function labNet(): string {
  return process.env.FEDCONF_CONTAINER_NET ?? DEFAULT_CONTAINER_NET;
}

async function containersUp(assignment: Assignment, progress: Progress): Promise<RunningLab> {
  const client = await requireRuntime([assignment['org-a'].id]);
  const engineHost = client.info.containerRuntime.host;
  if (!['localhost', '127.0.0.1', '::1'].includes(engineHost)) {
    // Ports are published on the engine machine's loopback only; a remote engine's loopback is not ours.
    throw new Error(`the containers provider needs a local engine (it publishes ports on ${PUBLISH_ADDRESS} only); the engine is at ${engineHost}`);
  }
  // Fail on an unknown product before any key or container is made.
  for (const org of organisationNames) imageFor(assignment[org]);

  const runDir = join(labHome, 'containers');
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });

  progress('creating the lab CA and certificates');
  const ca = await LabCA.create(join(runDir, 'ca'));
  const material = {} as Record<OrgName, OrganisationMaterial>;
  for (const org of organisationNames) {
    const { implementation } = imageFor(assignment[org]);
    const dir = join(runDir, org);
    mkdirSync(dir, { recursive: true });
    const tls = await ca.issue(hostNamesOf(implementation, domainOf(org)));
    material[org] = { tls };
    if (implementation === 'synapse') {
      const secret = join(dir, 'registration_shared_secret');
      writeFileSync(secret, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
      chmodSync(secret, 0o600);
      const signingKey = join(dir, `${domainOf(org)}.signing.key`);
      writeFileSync(signingKey, newSigningKey(), { mode: 0o600 });
      material[org] = { tls, registrationSecretFile: secret, signingKeyFile: signingKey };
    }
  }

  const lab = containerDefinitions(assignment, { net: labNet(), caFile: ca.certFile, material });
  const started = await startContainers(lab, join(runDir, 'logs'), progress);
  try {
    const organisations = {} as Record<OrgName, OrganisationDescription>;
    for (const org of organisationNames) {
      const container = started.containers.get(org);
      if (!container) throw new Error(`${org}: no container was started`);
      organisations[org] = await describe(lab.organisations[org], material[org], container.getId(), (port) => container.getMappedPort(port), ca.certFile);
    }
    return {
      description: { provider: 'containers', controls: [], caFile: ca.certFile, organisations },
      down: (p = progress) => started.stop(p),
    };
  } catch (error) {
    await started.stop(progress);
    throw error;
  }
}

/** What the scenarios need to know about a started organisation, with the version the server reports. */
async function describe(
  o: OrganisationContainer, material: OrganisationMaterial, containerId: string, mapped: (port: number) => number, caFile: string,
): Promise<OrganisationDescription> {
  const base = {
    name: o.role, domain: o.domain, address: PUBLISH_ADDRESS, product: o.product, implementation: o.implementation,
    protocol: o.protocol, version: 'unknown',
    // As a peer on the lab network reaches it; the harness reaches the published ports through clientUrl.
    federationEndpoint: `${o.domain}:${o.federationPort ?? (o.protocol === 'matrix' ? 8448 : 5269)}`,
  };
  if (o.protocol === 'matrix') {
    const clientUrl = `http://${PUBLISH_ADDRESS}:${mapped(o.clientPort)}`;
    const secretFile = material.registrationSecretFile;
    if (!secretFile) throw new Error(`${o.role}: no registration secret file`);
    const description: OrganisationDescription = {
      ...base, clientUrl, provisioning: { method: 'synapse-shared-secret', adminUrl: clientUrl, secret: { file: secretFile } },
    };
    if (o.federationPort !== undefined) {
      description.version = (await matrixServerVersion(`https://${PUBLISH_ADDRESS}:${mapped(o.federationPort)}`, o.domain, caFile)).version;
    }
    return description;
  }
  if (o.provisioning.method !== 'prosodyctl') throw new Error(`${o.role}: ${o.implementation} has no prosodyctl provisioning`);
  const description: OrganisationDescription = {
    ...base,
    clientUrl: `xmpp://${PUBLISH_ADDRESS}:${mapped(o.clientPort)}`,
    ...(o.mucDomain ? { mucDomain: o.mucDomain } : {}),
    // prosodyctl works on the server's data files, so it runs inside the container (docker CLI, like the engine testcontainers found).
    provisioning: { method: 'prosodyctl', configFile: o.provisioning.configFile, exec: ['docker', 'exec', '-i', '-u', o.provisioning.user, containerId] },
  };
  const reported = await xmppServerVersion(description, caFile);
  if (!/prosody/i.test(reported.name)) throw new Error(`${o.role}: ${o.domain} reports software "${reported.name}" ${reported.version}, not Prosody`);
  description.version = reported.version;
  return description;
}
