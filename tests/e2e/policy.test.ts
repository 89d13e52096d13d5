import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Report } from '../../harness/report/model.ts';
import { answerOf, fedconf, labProcessesLeft, latestReport, statusesFor } from './cli.ts';

const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-policy-'));

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

const failureOf = (report: Report, id: string): string =>
  report.tests.filter((t) => t.requirements.includes(id) && t.status === 'FAILED').map((t) => t.message ?? '').join('\n');

// The stock products' FED-POLICY / FED-ROOM-ACL answers are checked with the whole profile in stock-*.test.ts.

describe.each(['synapse-allowlist-unset', 'prosody-allowlist-unset'])('the negative control %s (allow-list not configured)', (variant) => {
  it('is caught: FED-POLICY is No, its test FAILED (not ERROR) on org-c getting through, while org-b kept working', async () => {
    const result = await fedconf(['run', '--product', variant, '-t', 'FED-POLICY'], reportsDir);
    const report = latestReport(reportsDir, variant);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(answerOf(report, 'FED-POLICY'), result.stderr).toBe('No');
    expect(statusesFor(report, 'FED-POLICY')).not.toContain('ERROR');
    expect(statusesFor(report, 'FED-POLICY')).toContain('FAILED');
    const failure = failureOf(report, 'FED-POLICY');
    expect(failure).toMatch(/non-listed org-c got through/);
    // Only org-c leaking, never org-b refused: the failure is the missing allow-list, not a broken lab.
    expect(failure).not.toMatch(/listed org-b was refused/);
    expect(report.product.variantOf).toBeDefined();
  });
});
