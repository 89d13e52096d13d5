import type { Certificate } from '../ca.ts';
import type { LabProcess } from '../processes.ts';
import type { OrganisationDescription, OrgName, Protocol } from '../types.ts';

/** Reports what a long step is doing, for the CLI's progress display. */
export type Progress = (message: string) => void;

/**
 * Settings a product declaration may ask the native lab for. Each adapter honours the ones it knows
 * and refuses the others, so a variant can never silently run as the stock product.
 */
export interface LabSettings {
  /** false: the server federates with nobody (the FED-DM / FED-ROOM negative control). */
  federation?: boolean;
  /**
   * `TLSv1`: the s2s listener also accepts TLS 1.0 and 1.1 (OpenSSL security level 0), the FED-TLS negative
   * control. `TLSv1.2` is every adapter's default.
   */
  s2sTlsMinVersion?: 'TLSv1' | 'TLSv1.2';
  /** false: the server lets peers federate without TLS (XMPP `s2s_require_encryption = false`), a FED-TLS negative control. */
  s2sRequireEncryption?: boolean;
  /** true: the server publishes its signing keys with `valid_until_ts` already past, the FED-DISCOVERY negative control. */
  serverKeysExpired?: boolean;
  /**
   * true: /.well-known/matrix/server (served on :443 with only the client API behind it) delegates federation to
   * <domain>:443, where no federation API answers — the "well-known pointing to the wrong port" FED-DISCOVERY control.
   */
  wellKnownWrongPort?: boolean;
  /**
   * The operator's federation allow-list (FED-POLICY): the only peer domains this server exchanges anything with, in
   * either direction; every other domain is refused. Exact domains: list a peer's MUC service too. Absent: anyone.
   */
  federationAllowList?: string[];
  /**
   * false: the lab leaves any federationAllowList out of the server's configuration — the FED-POLICY negative control
   * "allow-list not configured" (the operator asked for one, the server federates with everyone).
   */
  federationAllowListApplied?: boolean;
}

/** The allow-list an adapter must configure, or undefined for none (also when the negative control drops it). */
export function allowListOf(adapter: string, settings: LabSettings): string[] | undefined {
  const { federationAllowList: list, federationAllowListApplied: applied } = settings;
  if (applied !== undefined && typeof applied !== 'boolean') {
    throw new Error(`${adapter} adapter: lab setting federationAllowListApplied must be true or false, got ${JSON.stringify(applied)}`);
  }
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || list.some((d) => typeof d !== 'string' || !/^[a-z0-9.-]+$/i.test(d))) {
    throw new Error(`${adapter} adapter: lab setting federationAllowList must be a list of domain names, got ${JSON.stringify(list)}`);
  }
  return applied === false ? undefined : list;
}

/** Refuses settings an adapter does not honour, so a variant never runs silently as the stock product. */
export function refuseUnknownSettings(adapter: string, settings: LabSettings, known: ReadonlyArray<keyof LabSettings>): void {
  const unknown = Object.keys(settings).filter((key) => !(known as readonly string[]).includes(key));
  if (unknown.length) throw new Error(`${adapter} adapter: unknown lab setting ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`);
}

/** Everything an adapter needs to run one organisation on this machine. */
export interface OrganisationPlan {
  name: OrgName;
  domain: string;
  /** The loopback address this organisation owns. */
  address: string;
  /** A directory only this organisation's server uses (config, data, logs). */
  dir: string;
  /** Certificate for the domain and its sub-services (conference.<domain>), signed by the lab CA. */
  tls: Certificate;
  caFile: string;
  dnsAddress: string;
  /** Path of a resolv.conf naming only the lab DNS. */
  resolvConf: string;
  productId: string;
  settings: LabSettings;
}

export interface RunningOrganisation {
  description: OrganisationDescription;
  processes: LabProcess[];
}

/** How the native lab installs and runs one kind of server. One module per product. */
export interface NativeAdapter {
  readonly id: string;
  readonly protocol: Protocol;
  /** TCP ports the server binds on its organisation's address (checked free before start). */
  readonly ports: readonly number[];
  /** DNS records (SRV) a peer needs to find this server from the bare domain. */
  srvRecords(domain: string): Array<{ service: string; target: string; port: number }>;
  /** Extra host names that must resolve to the organisation's address (e.g. conference.<domain>). */
  extraHostNames(domain: string): string[];
  /** Install the server if it is missing. Idempotent: skips what is there. */
  install(progress: Progress): Promise<void>;
  /**
   * Settings the product has no mechanism for, each with the reason (e.g. Dendrite: no federation allow-list).
   * Asking for one is a finding about the product, not a harness fault: the lab refuses it before stopping
   * anything, and a scenario whose requirement is that mechanism reports FAILED with the reason.
   */
  readonly lacks?: Partial<Record<keyof LabSettings, string>>;
  /** Write the configuration, start, wait until healthy, read the version from the server. */
  start(plan: OrganisationPlan, progress: Progress): Promise<RunningOrganisation>;
}
