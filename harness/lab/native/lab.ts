import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LabLog } from '../../package/logs.ts';
import { mkdirReachable } from '../../config/lab-home.ts';
import { labHome } from '../../config/paths.ts';
import type { ProductDeclaration } from '../../config/products.ts';
import { ProductLacks } from '../../verdict/failure.ts';
import { LabCA, selfSignedCertificate } from '../ca.ts';
import { startDns, writeResolvConf } from '../dns.ts';
import { isAlive, isOurs, stopProcess, type LabProcess } from '../processes.ts';
import { organisationNames, type OrganisationDescription, type OrgName } from '../types.ts';
import type { Assignment, LabProvider, RunningLab } from '../provider.ts';
import type { NativeAdapter, OrganisationPlan, Progress } from './adapter.ts';
import { recordSourceOf } from '../../audit/declared.ts';
import { assertPortsFree, labAddresses } from './addresses.ts';
import { labDeviationsOf } from './deviations.ts';
import { nativeAdapters } from './registry.ts';
import { clearState, readState, writeState, type LabState } from './state.ts';

export type { Assignment, RunningLab } from '../provider.ts';

/** The embedded default: real servers as local processes on their own loopback addresses. */
export const nativeProvider: LabProvider = {
  name: 'native',
  install: installProducts,
  up: (assignment, progress) => labUp(assignment, progress),
};

const adapters = new Map<string, NativeAdapter>();

/** The adapter that runs a product here, for the version the product asks for (one instance per version). */
export function adapterFor(product: ProductDeclaration): NativeAdapter {
  const name = product.lab?.adapter;
  const create = name ? nativeAdapters[name] : undefined;
  if (!create) {
    throw new Error(`${product.file}: product "${product.id}" has no lab.adapter the native lab knows; ` +
      `it cannot be started here (known: ${Object.keys(nativeAdapters).join(', ')}).`);
  }
  const key = `${name}@${product.lab?.version ?? ''}`;
  const adapter = adapters.get(key) ?? create(product.lab?.version);
  adapters.set(key, adapter);
  return adapter;
}

/** Install every product's server once (idempotent: an adapter skips what is there). */
export async function installProducts(products: ProductDeclaration[], progress: Progress): Promise<void> {
  for (const adapter of new Set(products.map(adapterFor))) await adapter.install(progress);
}

/**
 * Brings up org-a, org-b and org-c, each on its own loopback address and .test domain, with a
 * throwaway CA and the lab's own DNS. If anything fails half-way, what was started is stopped.
 */
export async function labUp(assignment: Assignment, progress: Progress, mode: LabState['mode'] = 'attached'): Promise<RunningLab> {
  await reclaimStaleLab(progress);
  const existing = readState();
  if (existing) {
    throw new Error(`a lab is already running (started ${existing.startedAt} by pid ${existing.ownerPid}); stop it with \`fedconf lab down\`.`);
  }
  await installProducts(Object.values(assignment), progress);

  const addresses = labAddresses();
  const runDir = join(labHome, 'run');
  rmSync(runDir, { recursive: true, force: true });
  mkdirReachable(runDir);

  const state: LabState = { mode, ownerPid: process.pid, startedAt: new Date().toISOString(), processes: [] };
  writeState(state);
  try {
    await assertPortsFree(addresses.dns, [53]);
    for (const org of organisationNames) await assertPortsFree(addresses.orgs[org], adapterFor(assignment[org]).ports);

    progress('creating the lab CA and certificates');
    const ca = await LabCA.create(join(runDir, 'ca'));
    const domainOf = (org: OrgName) => `${org}.test`;

    progress(`starting the lab DNS on ${addresses.dns}`);
    const hosts: Array<{ name: string; address: string }> = [];
    const srv: Array<{ service: string; target: string; port: number }> = [];
    for (const org of organisationNames) {
      const adapter = adapterFor(assignment[org]);
      for (const name of [domainOf(org), ...adapter.extraHostNames(domainOf(org))]) hosts.push({ name, address: addresses.orgs[org] });
      srv.push(...adapter.srvRecords(domainOf(org)));
    }
    // probe.test: no server runs there; a scenario's peer probe binds it (see LabDescription.peerProbe).
    const probeDomain = 'probe.test';
    hosts.push({ name: probeDomain, address: addresses.probe });
    srv.push({ service: `_xmpp-server._tcp.${probeDomain}`, target: probeDomain, port: 5269 }, { service: `_matrix-fed._tcp.${probeDomain}`, target: probeDomain, port: 8448 });
    const peerProbe = {
      domain: probeDomain, address: addresses.probe,
      tls: await ca.issue([probeDomain], [addresses.probe]),
      selfSigned: await selfSignedCertificate(join(runDir, 'self-signed'), [probeDomain]),
    };
    const dnsDir = join(runDir, 'dns');
    mkdirReachable(dnsDir);
    state.processes.push(await startDns(dnsDir, addresses.dns, { hosts, srv }));
    writeState(state);
    const resolvConf = writeResolvConf(dnsDir, addresses.dns);

    const organisations = {} as Record<OrgName, OrganisationDescription>;
    const plans = {} as Record<OrgName, OrganisationPlan>;
    const running = {} as Record<OrgName, LabProcess[]>;
    const start = async (org: OrgName, p: Progress) => {
      const result = await adapterFor(assignment[org]).start(plans[org], p);
      running[org] = result.processes;
      state.processes.push(...result.processes);
      writeState(state);
      const recordSource = recordSourceOf(assignment[org]);
      organisations[org] = { ...result.description, logDir: plans[org].dir, storeDir: plans[org].dir, labDeviations: labDeviationsOf(result.description.implementation), ...(recordSource ? { recordSource } : {}) };
      return organisations[org];
    };
    const stop = async (org: OrgName, p: Progress) => {
      for (const proc of running[org] ?? []) {
        p(`stopping ${proc.name} (pid ${proc.pid})`);
        await stopProcess(proc);
      }
      state.processes = state.processes.filter((proc) => !(running[org] ?? []).includes(proc));
      running[org] = [];
      writeState(state);
    };
    for (const org of organisationNames) {
      const product = assignment[org];
      const adapter = adapterFor(product);
      const domain = domainOf(org);
      const dir = join(runDir, org);
      mkdirReachable(dir);
      const tls = await ca.issue([domain, ...adapter.extraHostNames(domain)], [addresses.orgs[org]]);
      plans[org] = {
        name: org, domain, address: addresses.orgs[org], dir, tls, caFile: ca.certFile,
        dnsAddress: addresses.dns, resolvConf, productId: product.id, settings: product.lab?.settings ?? {},
      };
      progress(`starting ${product.id} as ${org} (${domain} on ${addresses.orgs[org]})`);
      await start(org, progress);
    }
    state.description = { provider: 'native', controls: ['stop', 'start', 'restart', 'reconfigure'], caFile: ca.certFile, dnsAddress: addresses.dns, organisations, peerProbe };
    writeState(state);
    return {
      description: state.description,
      down: (p = progress) => labDown(p),
      // Restarts keep the organisation's folder (database, keys, accounts), as a real server restart would.
      async control({ action, org, settings }, p = progress) {
        if (action === 'stop') await stop(org, p);
        if (action === 'start' && (running[org] ?? []).length === 0) await start(org, p);
        if (action === 'restart') { await stop(org, p); await start(org, p); }
        if (action === 'reconfigure') {
          // Refused before anything stops, so the organisation keeps running as it was.
          const lacks = adapterFor(assignment[org]).lacks ?? {};
          const missing = Object.keys(settings ?? {}).flatMap((key) => lacks[key as keyof typeof lacks] ?? []);
          if (missing.length) throw new ProductLacks(`${assignment[org].id}: ${missing.join('; ')}`);
          plans[org] = { ...plans[org], settings: { ...(assignment[org].lab?.settings ?? {}), ...settings } };
          await stop(org, p);
          await start(org, p);
        }
        return organisations[org];
      },
      logs: () => labLogs(runDir),
    };
  } catch (error) {
    await labDown(progress);
    throw error;
  }
}

/** Every *.log under the organisations' folders and the DNS folder (server output, ejabberd's logs/). */
function labLogs(runDir: string): LabLog[] {
  return [...organisationNames, 'dns'].flatMap((source) => {
    const dir = join(runDir, source);
    let names: string[];
    try {
      names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
    } catch {
      return [];
    }
    return names.filter((n) => n.endsWith('.log')).sort().map((name) => ({ source, name, file: join(dir, name) }));
  });
}

/** Stops every process recorded in the lab state, newest first, and forgets the lab. */
export async function labDown(progress: Progress = () => {}): Promise<void> {
  const state = readState();
  if (!state) return;
  for (const proc of [...state.processes].reverse()) {
    if (isOurs(proc)) {
      progress(`stopping ${proc.name} (pid ${proc.pid})`);
      await stopProcess(proc);
    }
  }
  clearState();
}

/** A lab whose owning `fedconf run` died (crash, kill -9) is stopped before anything else starts. */
async function reclaimStaleLab(progress: Progress): Promise<void> {
  const state = readState();
  if (state && !isAlive(state.ownerPid) && (state.mode === 'attached' || !state.processes.some(isOurs))) {
    progress('stopping what a previous run left behind');
    await labDown(progress);
  }
}

export interface LabStatus {
  running: boolean;
  state?: LabState;
  processes: Array<{ name: string; pid: number; alive: boolean }>;
}

export function labStatus(): LabStatus {
  const state = readState();
  if (!state) return { running: false, processes: [] };
  const processes = state.processes.map((p) => ({ name: p.name, pid: p.pid, alive: isOurs(p) }));
  return { running: processes.some((p) => p.alive), state, processes };
}
