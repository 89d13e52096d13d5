import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyAnswer, diffReports, diffText } from '../../harness/report/diff.ts';
import { loadReport } from '../../harness/report/read.ts';
import type { ReportDiff } from '../../harness/report/diff.ts';
import { fedconf } from '../e2e/cli.ts';

// The same federation profile against "Synapse 1.150.0" (baseline) and "Synapse 1.163.2" (tests/fixtures/reports/make.ts).
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'reports');
const baseline = join(fixtures, 'synapse-1.150.0');
const candidate = join(fixtures, 'synapse-1.163.2');
const a = loadReport(baseline).report;
const b = loadReport(candidate).report;

const moves = (d: ReportDiff, change: string) => [
  ...d.requirements.filter((r) => r.change === change).map((r) => `${r.id}: ${r.from ?? '-'} → ${r.to ?? '-'}`),
  ...d.tests.filter((t) => t.change === change).map((t) => `${t.id.split(' > ')[1]}: ${t.from ?? '-'} → ${t.to ?? '-'}`),
];

describe('the diff of two runs of one profile against two Synapse versions', () => {
  const diff = diffReports(a, b);

  it('lists what regressed, improved, was added and removed, requirement by requirement and test by test', () => {
    expect(moves(diff, 'regressed')).toEqual([
      'FED-OFFLINE: Yes → Partial', 'FED-DELETE: Yes → No',
      'a deletion reaches the other organisation: PASSED → FAILED', 'recipient server down: PASSED → FAILED',
    ]);
    expect(moves(diff, 'improved')).toEqual([
      'FED-EDIT: No → Yes', 'FED-REACT: Not tested → Yes',
      'an edit arrives as an edit: FAILED → PASSED', 'a reaction crosses: ERROR → PASSED',
    ]);
    expect(moves(diff, 'added')).toEqual(['a mention by user id: - → PASSED', 'a threaded reply stays threaded: - → ERROR']);
    expect(moves(diff, 'removed')).toEqual(['a mention by display name: PASSED → -']);
    expect(diff.counts).toMatchObject({ regressed: 4, improved: 4, changed: 0, added: 2, removed: 1, unchangedTests: 4 });
    expect(diff.tests.find((t) => t.to === 'FAILED' && t.requirements.includes('FED-DELETE'))?.message).toBe('ConformanceFailure: bob still sees the deleted message after 30 s');
    expect(diff.regression).toBe(true);
    expect(diff.warnings).toEqual(['1 test(s) of A are not in B (another -t filter or suite version?): a Yes they evidenced and B lacks counts as evidence lost']);
  });

  it('reads as text with the regressions first', () => {
    const text = diffText(diff);
    expect(text).toContain('A = synapse 1.150.0');
    expect(text).toContain('B = synapse 1.163.2');
    expect(text.indexOf('Regressed:')).toBeLessThan(text.indexOf('Improved:'));
    expect(text).toMatch(/FED-DELETE\s+MUST\s+Yes → No/);
    expect(text.trim().split('\n').at(-1)).toBe('REGRESSION: B is worse than A');
  });

  it('the other way round, improvements and regressions swap', () => {
    const back = diffReports(b, a);
    expect(moves(back, 'improved')).toContain('FED-DELETE: No → Yes');
    expect(moves(back, 'regressed')).toEqual(['FED-EDIT: Yes → No', 'FED-REACT: Yes → Not tested', 'an edit arrives as an edit: PASSED → FAILED', 'a reaction crosses: PASSED → ERROR']);
    expect(back.requirements.find((r) => r.id === 'FED-REACT')?.note).toBe('evidence lost: no longer decided');
  });

  it('finds nothing between a run and itself', () => {
    const same = diffReports(a, a);
    expect(same.regression).toBe(false);
    expect([...same.requirements, ...same.tests, ...same.profiles]).toEqual([]);
    expect(same.counts.unchangedRequirements).toBe(a.requirements.length);
  });

  it('classes answer moves: only losing a decided Yes/Partial is a regression', () => {
    expect(classifyAnswer('Yes', 'Partial').change).toBe('regressed');
    expect(classifyAnswer('Partial', 'No').change).toBe('regressed');
    expect(classifyAnswer('Partial', 'Not tested').change).toBe('regressed');
    expect(classifyAnswer('No', 'Not tested').change).toBe('changed');
    expect(classifyAnswer('Not tested', 'No').change).toBe('changed');
    expect(classifyAnswer('Yes', 'Not applicable').change).toBe('changed');
    expect(classifyAnswer('Not tested', 'Partial').change).toBe('improved');
  });

  it('reports a profile verdict that flips, and warns when the runs are not comparable', () => {
    const conformant = structuredClone(a);
    conformant.profiles[0]!.verdict = 'CONFORMANT';
    const other = structuredClone(b);
    other.profile.id = 'guest-access';
    other.product.id = 'synapse@1.163.2'; // the same product at a pinned version: no warning
    other.run.status = 'incomplete';
    other.run.note = 'the run was interrupted';
    const d = diffReports(conformant, other);
    expect(d.profiles).toEqual([{ id: 'federation', change: 'regressed', from: 'CONFORMANT', to: 'NOT CONFORMANT' }]);
    expect(d.warnings.slice(0, 2)).toEqual(['the runs are of different profiles (federation vs guest-access)', `run B (${b.run.id}) is incomplete: the run was interrupted`]);
  });
});

describe('fedconf diff', () => {
  it('names the file it cannot read as a report', () => {
    expect(() => loadReport(join(fixtures, 'no-such-run'))).toThrow(/no-such-run:\n {2}- no such run folder or report.json/);
    expect(() => loadReport(fixtures)).toThrow(/report.json:\n {2}- the folder has no report.json/);
  });

  // Each CLI start costs seconds on a loaded machine: three runs cover the three exit codes.
  it('exits 1 on a regression (--json is the diff), 0 without, 2 on bad input naming the file', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'fedconf-diff-')), 'report.json');
    writeFileSync(bad, '{"schemaVersion": 1');
    const [regressed, same, broken] = await Promise.all([
      fedconf(['diff', join(baseline, 'report.json'), candidate, '--json'], fixtures),
      fedconf(['diff', baseline, baseline], fixtures),
      fedconf(['diff', bad, candidate], fixtures),
    ]);
    expect(regressed.code).toBe(1);
    expect(JSON.parse(regressed.stdout)).toEqual(diffReports(a, b));
    expect(same).toMatchObject({ code: 0, stderr: '' });
    expect(same.stdout.trim().split('\n').at(-1)).toBe('no regression');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(bad);
    expect(broken.stderr).toContain('JSON syntax');
  });
});
