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
  /**
   * false: the server does not require a peer's certificate to validate and lets it authenticate by dialback
   * alone (XMPP `s2s_secure_auth = false`), the FED-AUTH negative control.
   */
  s2sSecureAuth?: boolean;
  /**
   * false: the server does not offer server dialback at all (ejabberd without mod_s2s_dialback): peers authenticate
   * by certificate only. Not a negative control: it shows the FED-AUTH finding on stock ejabberd is configuration.
   */
  s2sDialback?: boolean;
  /** true: the server publishes its signing keys with `valid_until_ts` already past, the FED-DISCOVERY negative control. */
  serverKeysExpired?: boolean;
  /**
   * true: /.well-known/matrix/server (served on :443 with only the client API behind it) delegates federation to
   * <domain>:443, where no federation API answers — the "well-known pointing to the wrong port" FED-DISCOVERY control.
   */
  wellKnownWrongPort?: boolean;
  /**
   * true: clients may connect without TLS — XMPP `c2s_require_encryption = false`; Matrix: the client API only on
   * the plain-HTTP listener, with no TLS client endpoint. The SEC-TLS-CLIENT negative control.
   */
  clientPlaintext?: boolean;
  /**
   * true: the server runs with its stock rate limits, without the lab's relaxations (Synapse `rc_*`, Dendrite
   * `rate_limiting`, ejabberd shapers); SEC-BRUTE asks for it through the reconfigure control.
   */
  stockRateLimits?: boolean;
  /** false: failed logins are never throttled (Synapse `rc_login` unlimited, also with stock limits), the SEC-BRUTE negative control. */
  loginThrottling?: boolean;
  /** false: the server keeps and shares no presence (Synapse `presence.enabled: false`), the FED-PRESENCE negative control. */
  presence?: boolean;
  /** false: no storage of messages for offline users (XMPP mod_offline not loaded), the FED-OFFLINE negative control. */
  offlineStorage?: boolean;
  /** false: users cannot upload files (Matrix media repository off; XMPP no XEP-0363 upload service), the FED-FILE negative control. */
  fileUpload?: boolean;
  /**
   * false: the organisation turns guests away (M: no guest registration; X: no SASL ANONYMOUS host) — the GST-JOIN
   * negative control, and what GST-DISABLE's operator switch sets. The lab's deployments admit guests otherwise.
   */
  guests?: boolean;
  /** true: the server admits guests whatever `guests` says — an operator switch that does nothing (the GST-DISABLE control). */
  guestsAlwaysOn?: boolean;
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
  /**
   * Not a server setting: true tells the harness's own encrypting client on this organisation to send plaintext into
   * rooms marked encrypted (OrganisationDescription.clientFault) — the E2E-BLIND negative control "a client that
   * silently sends plaintext". The server runs as stock.
   */
  e2eeClientPlaintext?: boolean;
  /** true: new private rooms and DMs are encrypted without the client asking (Synapse encryption_enabled_by_default_for_room_type: invite) — the E2E-DEFAULT positive variant. */
  e2eeByDefault?: boolean;
  /**
   * true: peers' requests for this server's users' device keys are refused (federation /user/keys/query,
   * /user/keys/claim and /user/devices answer 404 M_UNRECOGNIZED, through a lab-side filter in front of the
   * federation listener: harness/lab/native/federation-filter.ts) — the E2E-DM negative control "key endpoints disabled".
   */
  e2eeKeyEndpointsOff?: boolean;
  /** false: the server offers no PEP (XEP-0163; Prosody without mod_pep), so no OMEMO device list or bundle: the E2E-DM negative control "PEP off". */
  pep?: boolean;
  /**
   * false: the server logs only warnings and errors (Synapse's root logger at WARNING), the AUD-ACCOUNT negative
   * control "logging off". The lab logs at INFO otherwise.
   */
  serverLogging?: boolean;
  /**
   * RET-*: the server-wide maximum lifetime of messages, in seconds (M: `retention.default_policy.max_lifetime`,
   * rooms may set their own with m.room.retention; X: mod_mam / mod_muc_mam archive expiry). Absent: kept forever.
   */
  retentionSeconds?: number;
  /** false: retention is off whatever retentionSeconds says (M: `retention.enabled: false`), the RET-POLICY negative control. */
  retention?: boolean;
  /** The lifetime actually enforced, shorter than retentionSeconds announces: the RET-KEEP (over-deletion) negative control. */
  retentionEnforcedSeconds?: number;
  /**
   * RET-REDACT: how long a deleted (redacted) message's original content may stay in server storage, in seconds
   * (M: Synapse `redaction_retention_period`, default 7 days). Absent: the product's default.
   */
  redactionRetentionSeconds?: number;
  /** false: deleted content is kept forever whatever redactionRetentionSeconds says (Synapse `redaction_retention_period: null`), the RET-REDACT negative control. */
  redactionPurge?: boolean;
  /**
   * XMPP, RET-REDACT / RET-ERASE: true: the server keeps a message archive (XEP-0313: Prosody mod_mam + mod_muc_mam,
   * ejabberd mod_mam with rooms archived), kept until a lifetime (retentionSeconds) says otherwise. The lab's XMPP
   * servers otherwise keep room history in memory only. Matrix servers always store room history.
   */
  messageArchive?: boolean;
  /**
   * RET-MEDIA, XMPP: how long the XEP-0363 upload service keeps an uploaded file, in seconds (Prosody
   * `http_file_share_expires_after`, stock 1 week). Absent: the product's default. Matrix media is deleted by its
   * operator in RET-MEDIA's Matrix scenario, so the Matrix adapters refuse it.
   */
  fileLifetimeSeconds?: number;
}

/** The lab's retention switches, honoured by the adapters that have a retention mechanism. */
export const retentionSwitches = ['retentionSeconds', 'retention', 'retentionEnforcedSeconds'] as const satisfies ReadonlyArray<keyof LabSettings>;

type SecondsSetting = 'retentionSeconds' | 'retentionEnforcedSeconds' | 'redactionRetentionSeconds' | 'fileLifetimeSeconds';

/** A setting in seconds, checked to be a whole number of at least 1; undefined when absent. */
export function secondsOf(adapter: string, settings: LabSettings, key: SecondsSetting): number | undefined {
  const value = settings[key];
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new Error(`${adapter} adapter: lab setting ${key} must be a whole number of seconds, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The lifetime (seconds) an adapter must enforce, or undefined for none (also when the negative control turns it off). */
export function retentionOf(adapter: string, settings: LabSettings): number | undefined {
  const [asked, enforced] = [secondsOf(adapter, settings, 'retentionSeconds'), secondsOf(adapter, settings, 'retentionEnforcedSeconds')];
  if (asked === undefined || settings.retention === false) return undefined;
  return enforced ?? asked;
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

/** XMPP: the host on which an organisation's guests log in anonymously. */
export const guestDomainOf = (domain: string): string => `guest.${domain}`;

/** Whether an organisation run with these settings admits guests. */
export function guestsAdmitted(settings: LabSettings): boolean {
  return settings.guestsAlwaysOn === true || settings.guests !== false;
}

/** Refuses settings an adapter does not honour, so a variant never runs silently as the stock product. */
export function refuseUnknownSettings(adapter: string, settings: LabSettings, known: ReadonlyArray<keyof LabSettings>): void {
  const unknown = Object.keys(settings).filter((key) => !(known as readonly string[]).includes(key));
  if (unknown.length) throw new Error(`${adapter} adapter: unknown lab setting ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`);
  for (const key of booleanSettings) {
    if (settings[key] !== undefined && typeof settings[key] !== 'boolean') {
      throw new Error(`${adapter} adapter: lab setting ${key} must be true or false, got ${JSON.stringify(settings[key])}`);
    }
  }
}

/** The guest switches every adapter honours. */
export const guestSwitches = ['guests', 'guestsAlwaysOn'] as const satisfies ReadonlyArray<keyof LabSettings>;

type BooleanSetting = { [K in keyof LabSettings]-?: NonNullable<LabSettings[K]> extends boolean ? K : never }[keyof LabSettings];

/** Every on/off setting: refuseUnknownSettings checks their type, so adapters only read them. */
const booleanSettings = Object.keys({
  federation: true, s2sRequireEncryption: true, serverKeysExpired: true, wellKnownWrongPort: true, clientPlaintext: true,
  stockRateLimits: true, loginThrottling: true, presence: true, offlineStorage: true, fileUpload: true, guests: true, guestsAlwaysOn: true,
  s2sSecureAuth: true, s2sDialback: true, federationAllowListApplied: true, e2eeClientPlaintext: true, e2eeKeyEndpointsOff: true, e2eeByDefault: true, serverLogging: true, retention: true,
  pep: true,
  redactionPurge: true, messageArchive: true,
} satisfies Record<BooleanSetting, true>) as BooleanSetting[];

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
