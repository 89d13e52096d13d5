import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { answerOf, fedconf, labProcessesLeft, latestReport, statusesFor } from './cli.ts';

/**
 * Every negative control (a product variant that lacks one property, fixtures/products/*.yaml with `variantOf`)
 * is caught: the requirement it breaks is No with its tests FAILED, never ERROR, and where named, a requirement the
 * variant still meets is Yes — so the failure is the product's, not the harness's. Each variant runs only the
 * scenarios it concerns; the stock products' full answers are in stock-*.test.ts. Controls that need a closer look
 * are in their own files: auth.test.ts (FED-AUTH), declaration.test.ts (the declaration check), policy.test.ts.
 */
export interface Control {
  variant: string;
  breaks: string[];
  /** The -t filter: the scenarios of `breaks` (and `holds`). */
  tests: string;
  profile?: string;
  holds?: string;
}

export const controls: Control[] = [
  ...['synapse', 'dendrite', 'prosody', 'ejabberd'].map((p): Control => ({ variant: `${p}-federation-off`, breaks: ['FED-DM', 'FED-ROOM'], tests: 'FED-(DM|ROOM):' })),
  { variant: 'prosody-tls-legacy', breaks: ['FED-TLS'], holds: 'FED-DISCOVERY', tests: 'FED-(TLS|DISCOVERY)' },
  { variant: 'prosody-s2s-plaintext', breaks: ['FED-TLS'], holds: 'FED-DISCOVERY', tests: 'FED-(TLS|DISCOVERY)' },
  { variant: 'synapse-keys-expired', breaks: ['FED-DISCOVERY'], holds: 'FED-TLS', tests: 'FED-(TLS|DISCOVERY)' },
  { variant: 'synapse-wellknown-wrong-port', breaks: ['FED-DISCOVERY'], holds: 'FED-TLS', tests: 'FED-(TLS|DISCOVERY)' },
  { variant: 'synapse-upload-off', breaks: ['FED-FILE'], tests: 'FED-FILE' },
  { variant: 'prosody-upload-off', breaks: ['FED-FILE'], tests: 'FED-FILE' },
  { variant: 'synapse-presence-off', breaks: ['FED-PRESENCE'], tests: 'FED-PRESENCE' },
  // The recipient-logged-out scenario: the recipient is on org-a, the product under test.
  { variant: 'prosody-offline-off', breaks: ['FED-OFFLINE'], tests: 'logged out' },
  { variant: 'ejabberd-offline-off', breaks: ['FED-OFFLINE'], tests: 'logged out' },
  { variant: 'prosody-c2s-plaintext', breaks: ['SEC-TLS-CLIENT'], holds: 'SEC-SESSION', profile: 'baseline', tests: 'SEC-(TLS-CLIENT|SESSION)' },
  { variant: 'synapse-client-plaintext', breaks: ['SEC-TLS-CLIENT'], holds: 'SEC-SESSION', profile: 'baseline', tests: 'SEC-(TLS-CLIENT|SESSION)' },
  { variant: 'synapse-login-unthrottled', breaks: ['SEC-BRUTE'], holds: 'SEC-SESSION', profile: 'baseline', tests: 'SEC-(BRUTE|SESSION)' },
  { variant: 'synapse-guests-off', breaks: ['GST-JOIN'], profile: 'guest-access', tests: 'GST-JOIN:' },
  { variant: 'prosody-guests-off', breaks: ['GST-JOIN'], profile: 'guest-access', tests: 'GST-JOIN:' },
  { variant: 'synapse-guests-always-on', breaks: ['GST-DISABLE'], profile: 'guest-access', tests: 'GST-DISABLE:' },
  { variant: 'prosody-guests-always-on', breaks: ['GST-DISABLE'], profile: 'guest-access', tests: 'GST-DISABLE:' },
  // The harness's own encrypting client on org-a is told to send plaintext into the encrypted room: E2E-BLIND must see it.
  { variant: 'synapse-e2ee-client-plaintext', breaks: ['E2E-BLIND'], profile: 'e2ee', tests: 'E2E-BLIND:' },
  // A lab-side filter on org-a's federation port refuses /user/keys/query, /user/keys/claim and /user/devices: bob (org-b) cannot get alice's keys.
  { variant: 'synapse-e2ee-keys-off', breaks: ['E2E-DM'], profile: 'e2ee', tests: 'E2E-DM:' },
  { variant: 'prosody-e2ee-client-plaintext', breaks: ['E2E-BLIND'], profile: 'e2ee', tests: 'E2E-BLIND:' },
  // PEP off: nobody on the organisation can publish an OMEMO device list or bundle (the refusal is named, not a timeout).
  { variant: 'prosody-pep-off', breaks: ['E2E-DM'], profile: 'e2ee', tests: 'E2E-DM:' },
  { variant: 'ejabberd-pep-off', breaks: ['E2E-DM'], profile: 'e2ee', tests: 'E2E-DM:' },
  // Logging off: Synapse at WARNING writes no record of an account's creation; a failed login (a warning) still is.
  { variant: 'synapse-logging-off', breaks: ['AUD-ACCOUNT'], holds: 'AUD-PROTECT', profile: 'audit', tests: 'AUD-(ACCOUNT|PROTECT):' },
  // The server-wide lifetime's scenarios only ('… messages …'): the room's own lifetime is another RET-POLICY scenario.
  { variant: 'synapse-retention-off', breaks: ['RET-POLICY'], holds: 'RET-KEEP', profile: 'retention', tests: 'RET-(POLICY|KEEP): messages' },
  { variant: 'synapse-retention-overdelete', breaks: ['RET-KEEP'], holds: 'RET-POLICY', profile: 'retention', tests: 'RET-(POLICY|KEEP): messages' },
  // Redacted content kept forever (redaction_retention_period: null): the event itself (event_json) keeps the text.
  // Stock Synapse is No as well, for its search index only (event_search, synapse#13122): see stock-findings.ts.
  { variant: 'synapse-redaction-kept', breaks: ['RET-REDACT'], holds: 'RET-ERASE', profile: 'retention', tests: 'RET-(REDACT|ERASE):' },
];

/** The tests proving each of `these` is caught (each file of controls calls this once, with its part of the table). */
export function catchEach(these: Control[]): void {
  const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-controls-'));

  afterEach(() => {
    expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
  });

  describe.each(these)('the negative control $variant', ({ variant, breaks, holds, profile, tests }) => {
    it(`is caught: ${breaks.join(' and ')} No, tests FAILED (not ERROR)${holds ? `, while ${holds} still holds` : ''}`, async () => {
      const result = await fedconf(['run', '--product', variant, '--profile', profile ?? 'federation', '-t', tests], reportsDir);
      const report = latestReport(reportsDir, variant);
      expect(report.run.status, result.stderr).toBe('complete');
      expect(report.product.variantOf).toBeDefined();
      for (const id of breaks) {
        expect(answerOf(report, id), `${id}\n${result.stdout.slice(-3000)}`).toBe('No');
        expect(statusesFor(report, id)).not.toContain('ERROR');
        expect(statusesFor(report, id)).toContain('FAILED');
      }
      if (holds) expect(answerOf(report, holds), `${holds}\n${result.stdout.slice(-3000)}`).toBe('Yes');
    });
  });
}
