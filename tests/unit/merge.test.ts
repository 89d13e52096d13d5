import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getProfile, loadCatalogue } from '../../harness/catalogue/catalogue.ts';
import { InputError } from '../../harness/config/input-error.ts';
import { loadProduct } from '../../harness/config/products.ts';
import { writeProvenance, type Provenance, type Shard } from '../../harness/package/provenance.ts';
import { buildReport } from '../../harness/report/build.ts';
import { comparableReport, mergeReports, readShardRun, shardProblems, writeMerged } from '../../harness/report/merge.ts';
import type { Report } from '../../harness/report/model.ts';
import { writeAll } from '../../harness/report/write.ts';
import type { TestResult } from '../../harness/verdict/model.ts';

const catalogue = loadCatalogue();
const product = loadProduct('synapse', catalogue);
const profile = getProfile(catalogue, 'federation');
const test = (file: string, name: string, requirements: string[], status: TestResult['status'], durationMs: number): TestResult =>
  ({ id: `suites/federation/${file} > ${name}`, name, file: `suites/federation/${file}`, requirements, status, durationMs, evidence: [`evidence/${name}.txt`] });

// One suite run as a single job would record it: FED-DM passes in one file and fails in another (→ Partial).
const single = [
  test('fed-dm.test.ts', 'dm', ['FED-DM'], 'PASSED', 100),
  test('fed-room.test.ts', 'room', ['FED-ROOM'], 'PASSED', 200),
  test('fed-room.test.ts', 'room dm', ['FED-ROOM', 'FED-DM'], 'FAILED', 210),
  test('fed-transport.test.ts', 'tls', ['FED-TLS'], 'ERROR', 5),
];
const lab = {
  provider: 'native' as const, controls: [], caFile: '',
  organisations: Object.fromEntries(['org-a', 'org-b', 'org-c'].map((name) => [name, {
    name, domain: `${name}.test`, address: '127.0.0.1', product: 'synapse', implementation: 'synapse', protocol: 'matrix', version: '1.163.2',
    clientUrl: '', federationEndpoint: '', provisioning: { method: 'pre-created', accounts: [], claimDir: '' },
  }])),
} as unknown as Parameters<typeof buildReport>[0]['lab'];
const reportOf = (tests: TestResult[], runId: string, startedAt: number) =>
  buildReport({ catalogue, profile, product, lab, runId, startedAt: new Date(startedAt), endedAt: new Date(startedAt + 1000), complete: true, tests });

const provenance = (shard?: Shard): Provenance => ({
  fedconf: { version: '0.1.0', commit: 'abc', dirty: false }, node: 'v20', platform: 'linux x64', command: ['fedconf', 'run'],
  product: 'synapse', declarations: ['fixtures/products/synapse.yaml'], profile: 'federation', certify: false, ...(shard ? { shard } : {}),
});

function runDir(report: Report, shard?: Shard): string {
  const dir = mkdtempSync(join(tmpdir(), 'fedconf-shard-'));
  writeAll(dir, report);
  writeProvenance(dir, provenance(shard));
  mkdirSync(join(dir, 'evidence'));
  for (const t of report.tests) writeFileSync(join(dir, t.evidence[0]!), `transcript of ${t.name}`);
  return dir;
}

// Two shards cut by file, run in another order and at other times than the single job.
const shard1 = runDir(reportOf([single[2]!, single[1]!].map((t) => ({ ...t, durationMs: t.durationMs + 7 })).reverse(), 's1', 5000), { index: 1, count: 2 });
const shard2 = runDir(reportOf([single[3]!, single[0]!], 's2', 9000), { index: 2, count: 2 });

describe('fedconf merge', () => {
  it('joins two shards into the report a single job writes (same tests, statuses, answers, verdicts, totals)', () => {
    const merged = mergeReports([shard2, shard1].map(readShardRun), catalogue, 'merged');
    const one = reportOf(single, 'single', 0);
    expect(comparableReport(merged)).toEqual(comparableReport(one));
    expect(merged.requirements.find((r) => r.id === 'FED-DM')?.answer).toBe('Partial'); // needs tests from both shards
    expect(merged.totals).toEqual({ PASSED: 2, FAILED: 1, ERROR: 1, 'SKIPPED-NA': 0, REVIEW: 0, 'NOT-RUN': 0 });
    expect(merged.run).toMatchObject({ id: 'merged', startedAt: new Date(5000).toISOString(), endedAt: new Date(10000).toISOString(), status: 'complete' });
    expect(merged.tests.map((t) => t.file)).toEqual([...merged.tests.map((t) => t.file)].sort());
  });

  it('and a difference in any test\'s status is not identical', () => {
    const other = reportOf(single.map((t) => (t.name === 'tls' ? { ...t, status: 'PASSED' as const } : t)), 'x', 0);
    expect(comparableReport(mergeReports([shard1, shard2].map(readShardRun), catalogue, 'm'))).not.toEqual(comparableReport(other));
  });

  it('writes the merged report with every shard\'s evidence, schema-valid', () => {
    const runs = [shard1, shard2].map(readShardRun);
    const out = mkdtempSync(join(tmpdir(), 'fedconf-merged-'));
    writeMerged(out, runs, mergeReports(runs, catalogue, 'm'));
    const written = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    expect(written.tests).toHaveLength(4);
    for (const t of written.tests) expect(readFileSync(join(out, t.evidence[0]!), 'utf8')).toContain(t.name);
    // The HTML links every shard's evidence, relative to the merged run folder.
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const t of written.tests) expect(html).toContain(`href="${encodeURI(t.evidence[0]!)}"`);
    expect(JSON.parse(readFileSync(join(out, 'provenance.json'), 'utf8'))).toMatchObject({ mergedFrom: [{ runId: 's1' }, { runId: 's2' }] });
  });

  it('refuses a set that is not one whole run: a missing, repeated or foreign shard, an overlap, an incomplete shard', () => {
    const runs = [shard1, shard2].map(readShardRun);
    expect(shardProblems(runs)).toEqual([]);
    expect(shardProblems([runs[0]!])).toEqual(['shard 2/2 is missing']);
    expect(shardProblems([runs[0]!, runs[0]!]).join('\n')).toMatch(/shard 1\/2 is given 2 times[\s\S]*shard 2\/2 is missing[\s\S]*is in both/);
    const prosody = { ...runs[1]!, report: { ...runs[1]!.report, product: { ...runs[1]!.report.product, id: 'prosody' } } };
    expect(shardProblems([runs[0]!, prosody]).join('\n')).toMatch(/product is prosody/);
    const incomplete = { ...runs[1]!, report: { ...runs[1]!.report, run: { ...runs[1]!.report.run, status: 'incomplete' as const, note: 'the run stopped early' } } };
    expect(shardProblems([runs[0]!, incomplete]).join('\n')).toMatch(/incomplete \(the run stopped early\)/);
    const notShard = { ...runs[1]!, provenance: provenance() };
    expect(shardProblems([runs[0]!, notShard]).join('\n')).toMatch(/not a shard/);
    expect(() => mergeReports([runs[0]!], catalogue, 'm')).toThrow(InputError);
  });
});
