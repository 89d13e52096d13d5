import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { answerOf, fedconf, labProcessesLeft, latestReport } from './cli.ts';

// The declaration check compares what a product's declaration claims with what its running server shows.
// One short run per product (-t FED-DM): the check runs whatever the test filter.
const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-declaration-'));

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

const htmlOf = (product: string) => {
  const run = readdirSync(join(reportsDir, product)).sort().at(-1)!;
  return readFileSync(join(reportsDir, product, run, 'report.html'), 'utf8');
};
const evidenceOf = (product: string) => {
  const run = readdirSync(join(reportsDir, product)).sort().at(-1)!;
  const file = join(reportsDir, product, run, 'evidence', 'declaration-check.txt');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};

// Stock products' declarations holding is checked with the whole profile in stock-*.test.ts.

describe('a declaration claiming a capability the server lacks (prosody-claims-upload)', () => {
  it('is caught: the declaration check is FAILED for that claim, the rest still holds, --strict exits 1', async () => {
    const result = await fedconf(['run', '--product', 'prosody-claims-upload', '-t', 'FED-DM', '--strict'], reportsDir);
    const report = latestReport(reportsDir, 'prosody-claims-upload');
    expect(report.run.status, result.stderr).toBe('complete');
    const check = report.declarationCheck!;
    expect(check.status, evidenceOf('prosody-claims-upload')).toBe('FAILED');
    expect(check.checks.find((c) => c.feature === 'upload')).toMatchObject({ status: 'FAILED', claims: ['XEP-0363', 'FED-FILE'] });
    // Only the false claim fails: what the server does offer is still shown.
    expect(check.checks.filter((c) => c.status !== 'PASSED').map((c) => c.feature)).toEqual(['upload']);
    expect(answerOf(report, 'FED-DM')).toBe('Yes');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('declaration check FAILED');
    expect(htmlOf('prosody-claims-upload')).toMatch(/Declaration check<\/a>: <strong>FAILED<\/strong>/);
  });
});

describe('a declared record source (ejabberd-declared-records: logs.source names ejabberd\'s log file and the marks)', () => {
  it('answers the audit records from that source through the generic reader: logins Yes, account creation No with the window\'s records', async () => {
    const result = await fedconf(['run', '--product', 'ejabberd-declared-records', '--profile', 'audit', '-t', 'AUD-ACCOUNT|AUD-AUTH'], reportsDir);
    const report = latestReport(reportsDir, 'ejabberd-declared-records');
    expect(report.run.status, result.stderr).toBe('complete');
    expect(report.totals.ERROR, result.stdout.slice(-3000)).toBe(0);
    expect(answerOf(report, 'AUD-AUTH')).toBe('Yes');
    expect(answerOf(report, 'AUD-ACCOUNT')).toBe('No'); // ejabberdctl register leaves no record (as with the built-in reader)
    const run = readdirSync(join(reportsDir, 'ejabberd-declared-records')).sort().at(-1)!;
    const account = report.tests.find((t) => t.requirements.includes('AUD-ACCOUNT'))!;
    const evidence = account.evidence.map((e) => readFileSync(join(reportsDir, 'ejabberd-declared-records', run, e), 'utf8')).join('\n');
    expect(evidence).toContain('logs/ejabberd.log (declared record source)');
  });
});
