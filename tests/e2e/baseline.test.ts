import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { answerOf, fedconf, labProcessesLeft, latestReport, statusesFor } from './cli.ts';

const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-baseline-'));
/** This file's rows of the baseline profile (SEC-BAD-INPUT has its own test). */
const baselineTests = 'SEC-(TLS-CLIENT|BRUTE|SESSION)';

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

/**
 * What the stock products answer (README, "Findings"): Dendrite 0.15.2 and Prosody 0.12.3 do not throttle repeated
 * failed logins (SEC-BRUTE No, its test FAILED, never ERROR); every other row is Yes.
 */
const stock: Array<{ product: string; answers: Record<string, 'Yes' | 'No'> }> = [
  { product: 'synapse', answers: { 'SEC-TLS-CLIENT': 'Yes', 'SEC-BRUTE': 'Yes', 'SEC-SESSION': 'Yes' } },
  { product: 'dendrite', answers: { 'SEC-TLS-CLIENT': 'Yes', 'SEC-BRUTE': 'No', 'SEC-SESSION': 'Yes' } },
  { product: 'prosody', answers: { 'SEC-TLS-CLIENT': 'Yes', 'SEC-BRUTE': 'No', 'SEC-SESSION': 'Yes' } },
  { product: 'ejabberd', answers: { 'SEC-TLS-CLIENT': 'Yes', 'SEC-BRUTE': 'Yes', 'SEC-SESSION': 'Yes' } },
];

describe.each(stock)('baseline security against stock $product on the native lab', ({ product, answers }) => {
  it(`answers ${Object.entries(answers).map(([id, a]) => `${id} ${a}`).join(', ')}, with no test in ERROR`, async () => {
    const result = await fedconf(['run', '--product', product, '--profile', 'baseline', '-t', baselineTests], reportsDir);
    const report = latestReport(reportsDir, product);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(report.totals.ERROR, JSON.stringify(report.tests.filter((t) => t.status === 'ERROR'), null, 2)).toBe(0);
    for (const [id, answer] of Object.entries(answers)) {
      expect(answerOf(report, id), `${id}\n${result.stderr}`).toBe(answer);
      if (answer === 'No') expect(statusesFor(report, id)).toContain('FAILED');
    }
  });
});

/** Each negative control, the requirement it must break, and one the variant still meets. */
const controls: Array<{ variant: string; breaks: string; holds: string }> = [
  { variant: 'prosody-c2s-plaintext', breaks: 'SEC-TLS-CLIENT', holds: 'SEC-SESSION' },
  { variant: 'synapse-client-plaintext', breaks: 'SEC-TLS-CLIENT', holds: 'SEC-SESSION' },
  { variant: 'synapse-login-unthrottled', breaks: 'SEC-BRUTE', holds: 'SEC-SESSION' },
];

describe.each(controls)('the negative control $variant', ({ variant, breaks, holds }) => {
  it(`is caught: ${breaks} is No, its test FAILED (not ERROR), and ${holds} still holds`, async () => {
    const result = await fedconf(['run', '--product', variant, '--profile', 'baseline', '-t', `${breaks}|${holds}`], reportsDir);
    const report = latestReport(reportsDir, variant);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(answerOf(report, breaks), `${breaks}\n${result.stderr}`).toBe('No');
    expect(statusesFor(report, breaks)).not.toContain('ERROR');
    expect(statusesFor(report, breaks)).toContain('FAILED');
    expect(answerOf(report, holds), `${holds}\n${result.stderr}`).toBe('Yes');
    expect(report.product.variantOf).toBeDefined();
  });
});
