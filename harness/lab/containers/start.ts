/**
 * Turns container definitions (definitions.ts) into testcontainers calls. testcontainers is imported
 * lazily: it costs ~0.6 s to load, and only a containers run needs it.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { StartedNetwork, StartedTestContainer, WaitStrategy } from 'testcontainers';
import type { Progress } from '../native/adapter.ts';
import type { ContainerDefinition, ContainerLab, ReadyCheck } from './definitions.ts';

export type Testcontainers = typeof import('testcontainers');

export interface StartedContainers {
  network: StartedNetwork;
  containers: Map<ContainerDefinition['role'], StartedTestContainer>;
  /** Where each container's output is written (`<role>.log`). */
  logDir: string;
  /** Stops every container (newest first) and removes the network. Safe to call twice. */
  stop(progress?: Progress): Promise<void>;
}

/**
 * GenericContainer with the three things the lab needs that its public builder does not offer: a fixed
 * address on a network, the engine's resolvers, and published ports bound to one host address.
 */
function labContainerClass(tc: Testcontainers) {
  return class LabContainer extends tc.GenericContainer {
    onNetwork(networkName: string, ipAddress: string, aliases: string[]): this {
      this.withNetworkMode(networkName);
      this.createOpts.NetworkingConfig = { EndpointsConfig: { [networkName]: { IPAMConfig: { IPv4Address: ipAddress }, Aliases: aliases } } };
      return this;
    }

    withResolvers(servers: string[]): this {
      if (servers.length) this.hostConfig.Dns = servers;
      return this;
    }

    /** withExposedPorts binds every host interface; rebind each port to `hostIp` only. */
    withPublishedPorts(ports: Array<{ container: number; hostIp: string }>): this {
      if (!ports.length) return this;
      this.withExposedPorts(...ports.map((p) => p.container));
      const bindings = { ...this.hostConfig.PortBindings } as Record<string, Array<{ HostIp: string; HostPort: string }>>;
      for (const p of ports) bindings[`${p.container}/tcp`] = [{ HostIp: p.hostIp, HostPort: '0' }];
      this.hostConfig.PortBindings = bindings;
      return this;
    }
  };
}

function waitStrategy(tc: Testcontainers, checks: ReadyCheck[]): WaitStrategy {
  const strategies = checks.map((check): WaitStrategy => {
    switch (check.kind) {
      case 'http': return tc.Wait.forHttp(check.path, check.port).forStatusCode(check.status);
      case 'listening-ports': return tc.Wait.forListeningPorts();
      case 'log': return tc.Wait.forLogMessage(new RegExp(check.pattern));
    }
  });
  return strategies.length === 1 ? strategies[0]! : tc.Wait.forAll(strategies);
}

/** The testcontainers container for one definition (not started; building it needs no engine). */
export function buildContainer(tc: Testcontainers, def: ContainerDefinition, networkName: string, logDir: string) {
  const LabContainer = labContainerClass(tc);
  const container = new LabContainer(def.image)
    .onNetwork(networkName, def.network.ipAddress, def.network.aliases)
    .withResolvers(def.dns)
    .withPublishedPorts(def.ports)
    .withEnvironment(def.env)
    .withCopyFilesToContainer(def.files.map((f) => ({ source: f.source, target: f.target, mode: f.mode })))
    .withCopyContentToContainer(def.contents.map((c) => ({ content: c.content, target: c.target, mode: c.mode })))
    .withWaitStrategy(waitStrategy(tc, def.ready))
    .withStartupTimeout(def.startupTimeoutMs)
    .withLogConsumer((stream: Readable) => { stream.pipe(createWriteStream(join(logDir, `${def.role}.log`), { flags: 'a' })); });
  if (def.entrypoint) container.withEntrypoint(def.entrypoint);
  if (def.command) container.withCommand(def.command);
  return container;
}

/**
 * Creates the lab network (its own subnet, so the addresses in the definitions hold) and starts the DNS,
 * then org-a, org-b and org-c. Everything carries the testcontainers session label, so the engine's reaper
 * removes it if this process dies before stop(). Stops what it started when a start fails.
 */
export async function startContainers(lab: ContainerLab, logDir: string, progress: Progress): Promise<StartedContainers> {
  const tc = await import('testcontainers');
  const client = await tc.getContainerRuntimeClient();
  const reaper = await tc.getReaper(client);
  mkdirSync(logDir, { recursive: true });

  const networkName = `fedconf-lab-${randomBytes(4).toString('hex')}`;
  progress(`creating network ${networkName} (${lab.network.subnet})`);
  const dockerNetwork = await client.network.create({
    Name: networkName,
    CheckDuplicate: true,
    Driver: 'bridge',
    IPAM: { Config: [{ Subnet: lab.network.subnet, Gateway: lab.network.gateway }] },
    Labels: { [tc.LABEL_TESTCONTAINERS_SESSION_ID]: reaper.sessionId, 'org.fedconf.lab': 'containers' },
  }).catch((error: unknown) => {
    throw new Error(`cannot create the lab network ${lab.network.subnet}: ${(error as Error).message}; ` +
      'if another network uses that block, choose another with FEDCONF_CONTAINER_NET=172.x.y');
  });
  const network = new tc.StartedNetwork(client, networkName, dockerNetwork);

  const containers = new Map<ContainerDefinition['role'], StartedTestContainer>();
  let stopped = false;
  const stop = async (p: Progress = progress) => {
    if (stopped) return;
    stopped = true;
    for (const [role, container] of [...containers].reverse()) {
      p(`stopping ${role} (container ${container.getId().slice(0, 12)})`);
      await container.stop().catch((error: unknown) => p(`could not stop ${role}: ${(error as Error).message}`));
    }
    await network.stop().catch((error: unknown) => p(`could not remove network ${networkName}: ${(error as Error).message}`));
  };

  try {
    for (const def of [lab.dns, ...Object.values(lab.organisations)]) {
      progress(`starting ${def.role}: ${def.image} at ${def.network.ipAddress} (${def.network.aliases.join(', ')})`);
      try {
        containers.set(def.role, await buildContainer(tc, def, networkName, logDir).start());
      } catch (error) {
        throw new Error(`${def.role} (${def.image}) did not start: ${(error as Error).message}; its output: ${join(logDir, `${def.role}.log`)}`, { cause: error });
      }
    }
    return { network, containers, logDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
