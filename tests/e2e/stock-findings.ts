import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { getProfile, loadCatalogue } from '../../harness/catalogue/catalogue.ts';
import { answerOf, fedconf, latestReport } from './cli.ts';

/**
 * The stock lab products' expected answers (README, "Findings on the stock products") and the one way the stock
 * tests check them: run the product through a profile (optionally only the tests of one prefix), then every row
 * must be answered exactly as the findings say (a changed answer is a changed finding, or a flaky verdict — both
 * need a look), with no test in ERROR. Used by stock-federation.test.ts, stock-profiles.test.ts and
 * stock-retention.test.ts, which run in parallel vitest workers.
 */
const catalogue = loadCatalogue();
export const products = ['synapse', 'dendrite', 'prosody', 'ejabberd'] as const;
export type Product = (typeof products)[number];
export type Answer = 'Yes' | 'No' | 'Partial' | 'Not tested' | 'Not applicable';

/** Requirement ids of a profile, with those of the profiles it includes. */
export const rowsOf = (profile: string): string[] => getProfile(catalogue, profile).requirements.map((r) => r.id);

/**
 * Answers that are not Yes, per product (README, "Findings on the stock products"). FED-INTEROP is Not tested in
 * every stock run: org-a and org-b run the same implementation (the interop matrix evidences it).
 */
export const federationFindings: Record<Product, Record<string, Answer>> = {
  synapse: { 'FED-INTEROP': 'Not tested', 'SEC-BAD-INPUT': 'Partial' },
  // Dendrite has no federation allow-list (the lab refuses the setting; the scenario reports it FAILED with that reason).
  dendrite: { 'FED-INTEROP': 'Not tested', 'FED-PRESENCE': 'No', 'FED-POLICY': 'No', 'SEC-BRUTE': 'No' },
  prosody: { 'FED-INTEROP': 'Not tested', 'FED-OFFLINE': 'Partial', 'FED-RESILIENCE': 'Partial', 'SEC-BRUTE': 'No' },
  // ejabberd: dialback-only trust of a self-signed peer; an outcast domain's current occupant keeps talking.
  ejabberd: { 'FED-INTEROP': 'Not tested', 'FED-OFFLINE': 'Partial', 'FED-RESILIENCE': 'Partial', 'FED-AUTH': 'Partial', 'FED-ROOM-ACL': 'No', 'SEC-BAD-INPUT': 'Partial' },
};

/** Dendrite admits no guests without open registration: GST-JOIN No, and nothing else about guests can run. */
const guestFindings: Record<Product, Record<string, Answer>> = {
  synapse: {},
  dendrite: { 'GST-JOIN': 'No', 'GST-SCOPE': 'Not tested', 'GST-LIMITS': 'Not tested', 'GST-HISTORY': 'Not tested', 'GST-DISABLE': 'Not tested', 'GST-MARKED': 'Not tested', 'GST-REVOKE': 'Not tested' },
  prosody: {},
  ejabberd: { 'GST-HISTORY': 'No' },
};

/**
 * E2E-* rows. Matrix: every row has a scenario, E2E-VERIFY and E2E-BACKUP included, and is Yes (docs/e2ee-status.md)
 * except E2E-DEFAULT: neither stock server encrypts new private rooms or DMs by default (Synapse:
 * encryption_enabled_by_default_for_room_type is off; Dendrite has no such option). XMPP (OMEMO 0.3): every row Yes
 * on both (E2E-VERIFY is the fingerprint comparison OMEMO offers); E2E-BACKUP and E2E-DEFAULT are Matrix-only rows.
 */
const e2eeStock: Record<string, Answer> = { 'E2E-DEFAULT': 'No' };
const omemoStock: Record<string, Answer> = { 'E2E-BACKUP': 'Not applicable', 'E2E-DEFAULT': 'Not applicable' };
const e2eeFindings: Partial<Record<Product, Record<string, Answer>>> = { synapse: e2eeStock, dendrite: e2eeStock, prosody: omemoStock, ejabberd: omemoStock };

/**
 * Audit rows (README, "Audit"): AUD-RECORDS: only Synapse's admin API compiles a room; Dendrite's admin API reads no
 * messages, prosodyctl / ejabberdctl have no archive export. Neither Synapse nor Prosody records a change of the
 * federation policy (a configuration read at start): Synapse's AUD-ADMIN is Partial (its other administrative
 * changes are recorded), Prosody's No. Prosody writes no record of prosodyctl's account changes, of a failed login,
 * of an affiliation change nor of a destroyed room; its one machine-readable sink is the host's syslog, which the
 * lab does not capture (AUD-EXPORT NOT-RUN). Dendrite (level info) writes no record of a failed login and no source
 * address of a login; ejabberd (level info) none of ejabberdctl register, nor of the federation policy it starts
 * with (AUD-ADMIN Partial, as Synapse). AUD-FEDERATION No for both: Dendrite records its outbound invite (its
 * destination) but nothing of the peer's inbound requests; ejabberd records both streams and an inbound refusal by
 * s2s_access, but nothing of an outbound one it refused. Both write text logs only in the lab's configuration
 * (Dendrite logfmt-style key=value lines, ejabberd its own format): AUD-EXPORT No.
 */
const federationAndExportNo: Record<string, Answer> = { 'AUD-FEDERATION': 'No', 'AUD-EXPORT': 'No' };
const auditFindings: Record<Product, Record<string, Answer>> = {
  synapse: { 'AUD-ADMIN': 'Partial' },
  dendrite: { ...federationAndExportNo, 'AUD-AUTH': 'No', 'AUD-RECORDS': 'No' },
  prosody: { 'AUD-ACCOUNT': 'No', 'AUD-AUTH': 'No', 'AUD-ADMIN': 'No', 'AUD-EXPORT': 'Not tested', 'AUD-RECORDS': 'No' },
  ejabberd: { ...federationAndExportNo, 'AUD-ACCOUNT': 'No', 'AUD-ADMIN': 'Partial', 'AUD-RECORDS': 'No' },
};

/**
 * Retention rows as the retention suite answers them. Dendrite and ejabberd have no
 * automatic retention (the lab refuses the lifetime, RET-POLICY FAILED with that reason); Prosody 0.12 expires its
 * archives only in a daily clean-up task, so a lifetime in seconds is still readable when checked. XMPP rooms'
 * archives live on the room's server only, and org-a's 1:1 archive does not expire at lab scale: RET-FEDERATED not run.
 * RET-MEDIA / RET-EXPORT: Dendrite's admin API deletes no media and exports nothing (No). RET-MEDIA for XMPP is the upload
 * lifetime: Prosody 0.12 still serves an expired upload (its daily clean-up task removes it), ejabberd 23.01 takes
 * lifetimes in whole days only (the lab refuses the setting): both No. RET-EXPORT for XMPP: Prosody's migrator writes
 * the user's archive as XEP-0227 (Yes); ejabberd's export_piefxis has no message archive in it (No).
 * RET-FEDERATED on Synapse includes the concurrency scenario (a room still federates once both servers purged it).
 * RET-REDACT is No everywhere: Synapse censors the event after redaction_retention_period but keeps the body in its
 * search index (event_search, synapse#13122); Dendrite strips the event at once but org-b keeps the body in its users'
 * notifications (userapi_notifications); Prosody 0.12 and ejabberd 23.01 keep the original in the room archive.
 * RET-ERASE: only Synapse erases (Dendrite's deactivation ignores `erase`; XMPP account deletion leaves the room history).
 */
const retentionFindings: Record<Product, Record<string, Answer>> = {
  synapse: { 'RET-REDACT': 'No' },
  dendrite: { 'RET-POLICY': 'No', 'RET-KEEP': 'Not tested', 'RET-FEDERATED': 'Not tested', 'RET-REDACT': 'No', 'RET-MEDIA': 'No', 'RET-ERASE': 'No', 'RET-EXPORT': 'No' },
  prosody: { 'RET-POLICY': 'No', 'RET-FEDERATED': 'Not tested', 'RET-REDACT': 'No', 'RET-MEDIA': 'No', 'RET-ERASE': 'No' },
  ejabberd: { 'RET-POLICY': 'No', 'RET-KEEP': 'Not tested', 'RET-FEDERATED': 'Not tested', 'RET-REDACT': 'No', 'RET-MEDIA': 'No', 'RET-ERASE': 'No', 'RET-EXPORT': 'No' },
};

/** A profile's own rows (by prefix), run with -t on that prefix, answered as its findings table says. */
export interface ProfileRows {
  profile: string;
  prefix: string;
  findings: Partial<Record<Product, Record<string, Answer>>>;
  /** A run longer than the project's 10-minute test timeout (RET-REDACT waits for Synapse's 5-minute clean-up job). */
  timeoutMs?: number;
}

export const profileRows: ProfileRows[] = [
  { profile: 'guest-access', prefix: 'GST-', findings: guestFindings },
  { profile: 'audit', prefix: 'AUD-', findings: auditFindings },
  { profile: 'e2ee', prefix: 'E2E-', findings: e2eeFindings },
  { profile: 'retention', prefix: 'RET-', findings: retentionFindings, timeoutMs: 900_000 },
];

/** Each profile's runs, one per product with findings. */
export const profileRuns = profileRows.flatMap((p) => products.filter((product) => p.findings[product]).map((product) => ({ ...p, product })));

function evidenceOfDeclarationCheck(reportsDir: string, product: string): string {
  const run = readdirSync(join(reportsDir, product)).sort().at(-1)!;
  const file = join(reportsDir, product, run, 'evidence', 'declaration-check.txt');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/**
 * Runs `product` through `profile` (only the tests matching `filter`, when given) and checks the answers of `ids`
 * against `findings` (absent: Yes), no ERROR, and — for whole-profile runs — that the declaration holds.
 */
export async function expectStockAnswers(reportsDir: string, product: Product, profile: string, ids: string[],
  findings: Record<string, Answer> | undefined, filter?: string): Promise<void> {
  const result = await fedconf(['run', '--product', product, '--profile', profile, ...(filter ? ['-t', filter] : [])], reportsDir);
  const report = latestReport(reportsDir, product);
  expect(report.run.status, result.stderr).toBe('complete');
  expect(report.totals.ERROR, JSON.stringify(report.tests.filter((t) => t.status === 'ERROR'), null, 2)).toBe(0);
  expect(report.product.version).toMatch(/^\d+\.\d+/);
  const answers = Object.fromEntries(ids.map((id) => [id, answerOf(report, id)]));
  const expected = Object.fromEntries(ids.map((id) => [id, findings?.[id] ?? 'Yes']));
  expect(answers, result.stdout.slice(-4000)).toEqual(expected);
  if (!filter) expect(report.declarationCheck?.status, evidenceOfDeclarationCheck(reportsDir, product)).toBe('PASSED');
}
