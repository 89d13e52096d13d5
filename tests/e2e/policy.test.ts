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

/** What each stock product answers, and why where it is No (the findings in the README). */
const stock: Array<{ product: string; policy: 'Yes' | 'No'; roomAcl: 'Yes' | 'No'; because?: RegExp }> = [
  { product: 'synapse', policy: 'Yes', roomAcl: 'Yes' },
  // Dendrite has no allow-list at all: the lab refuses the setting and the scenario reports that as the failure.
  { product: 'dendrite', policy: 'No', roomAcl: 'Yes', because: /Dendrite has no federation allow-list/ },
  { product: 'prosody', policy: 'Yes', roomAcl: 'Yes' },
  // ejabberd 23.01 refuses new joins from a domain made outcast but leaves that domain's current occupants talking.
  { product: 'ejabberd', policy: 'Yes', roomAcl: 'No', because: /org-a \(the room's host\) still accepted a message from org-c\.test/ },
];

describe.each(stock)('federation policy against stock $product on the native lab', ({ product, policy, roomAcl, because }) => {
  it(`answers FED-POLICY ${policy} and FED-ROOM-ACL ${roomAcl}, failures FAILED (not ERROR)`, async () => {
    const result = await fedconf(['run', '--product', product, '-t', 'FED-(POLICY|ROOM-ACL)'], reportsDir);
    const report = latestReport(reportsDir, product);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(report.totals.ERROR, JSON.stringify(report.tests.filter((t) => t.status === 'ERROR'), null, 2)).toBe(0);
    expect(answerOf(report, 'FED-POLICY'), result.stderr).toBe(policy);
    expect(answerOf(report, 'FED-ROOM-ACL'), result.stderr).toBe(roomAcl);
    const failures = `${failureOf(report, 'FED-POLICY')}\n${failureOf(report, 'FED-ROOM-ACL')}`;
    if (because) expect(failures).toMatch(because);
  });
});

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
