/**
 * What a lab looks like to the scenarios: a serialisable description handed to the vitest workers.
 * It holds addresses and file paths, never a secret's value (secrets stay in files under the lab's state).
 */
export type Protocol = 'matrix' | 'xmpp';
export const organisationNames = ['org-a', 'org-b', 'org-c'] as const;
export type OrgName = (typeof organisationNames)[number];

/** Where a secret's value is: a file (the native lab's own state) or an environment variable. Never the value. */
export type SecretRef = { file: string } | { env: string };

/** How the harness creates test users on an organisation's server (see harness/provisioning/). */
export type Provisioning =
  /** `/_synapse/admin/v1/register` with the HMAC of the shared secret (Synapse and Dendrite implement it). */
  | { method: 'synapse-shared-secret'; adminUrl: string; secret: SecretRef }
  /** `configFile` as the server sees it; `exec`: the command prefix that runs prosodyctl where the server's files
   * are (the containers provider: `docker exec -i -u prosody <container>`); absent: prosodyctl on this machine. */
  | { method: 'prosodyctl'; configFile: string; exec?: string[] }
  /** `ejabberdctl --config-dir <configDir> --node <node>`, run as `user` with HOME=<home>, where the node's Erlang cookie is. */
  | { method: 'ejabberdctl'; node: string; configDir: string; home: string; user: string }
  /** Accounts an operator created; each scenario user claims the next unused one (claims are files in claimDir). */
  | { method: 'pre-created'; accounts: Array<{ address: string; password: SecretRef }>; claimDir: string };

export interface OrganisationDescription {
  name: OrgName;
  /** The domain users are homed on: org-a.test … */
  domain: string;
  /** The loopback address this organisation's server binds. */
  address: string;
  /** Product declaration id (e.g. `synapse`, `synapse-federation-off`). */
  product: string;
  /** The implementation behind the product (`synapse`, `dendrite`, …): variants share it, vendors differ. */
  implementation: string;
  protocol: Protocol;
  /** As reported by the running server, not as assumed by the declaration. */
  version: string;
  /** Client endpoint: a base URL for Matrix, `xmpp://host:port` for XMPP. */
  clientUrl: string;
  /**
   * Matrix, when clientUrl is a plain-HTTP listener: where clients reach the client API over TLS (host:port).
   * clientUrl is then the backend the harness provisions through, in the place a TLS proxy's backend has.
   */
  clientTlsEndpoint?: string;
  /** Federation endpoint as a remote peer reaches it (host:port). */
  federationEndpoint: string;
  /** XMPP: the MUC service domain (conference.org-a.test). */
  mucDomain?: string;
  provisioning: Provisioning;
  /**
   * A fault the harness's own client on this organisation is told to have (a client-side negative control, lab
   * setting e2eeClientPlaintext): 'e2ee-plaintext' sends plaintext into encrypted rooms. Absent for every real run.
   */
  clientFault?: 'e2ee-plaintext';
  /** XMPP: the host that admits guests by SASL ANONYMOUS (guest.org-a.test); absent: the organisation offers none. */
  guestDomain?: string;
  /**
   * Native lab: the folder where this organisation's server writes its logs (every *.log under it), which the audit
   * evidence readers (harness/audit/) search. Absent: the harness has no way to fetch the records itself.
   */
  logDir?: string;
  /**
   * Native lab: the folder holding everything this organisation's server keeps on disk (databases, archives,
   * media), for the probes that check what a server holds (harness/probes/server-store.ts). Absent elsewhere.
   */
  storeDir?: string;
  /** Native lab: what it changes in the product's stock configuration (harness/lab/native/deviations.ts), for reports. */
  labDeviations?: readonly string[];
  /** Where the product's declaration says its records are (logs.source; harness/audit/declared.ts). */
  recordSource?: RecordSource;
}

/** A declared record source, its token as a reference; a relative file is in logDir, else beside the declaration. */
export interface RecordSource {
  file?: string;
  command?: string[];
  url?: string;
  token?: { env: string };
  stamp?: string;
  marks?: Partial<Record<'accountCreated' | 'accountRemoved' | 'loginFailed' | 'loginSucceeded' | 'privilegeChanged', string[]>>;
  declaredIn: string;
}

/** Lifecycle controls a lab offers to scenarios (the native lab: all; an external target: what it declares). */
export type LabControl = 'stop' | 'start' | 'restart' | 'reconfigure';

export interface LabDescription {
  provider: 'native' | 'containers' | 'external';
  controls: LabControl[];
  /** PEM file of the lab's throwaway CA, for clients that must trust the lab's certificates. */
  caFile: string;
  /** Address of the lab's DNS server, if it runs one. */
  dnsAddress?: string;
  organisations: Record<OrgName, OrganisationDescription>;
  /**
   * A name the lab DNS resolves to an address no server holds, for probes that play a federation peer
   * themselves (harness/probes/matrix-peer.ts, xmpp-s2s-peer.ts): `tls` is signed by the lab CA, `selfSigned`
   * names the same domain but chains to nothing. Absent when the lab offers no such name (external targets).
   */
  peerProbe?: {
    domain: string;
    address: string;
    tls: { certFile: string; keyFile: string };
    selfSigned: { certFile: string; keyFile: string };
  };
}
