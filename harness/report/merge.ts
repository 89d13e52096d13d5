import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getProfile, type Catalogue } from '../catalogue/catalogue.ts';
import { InputError } from '../config/input-error.ts';
import { productsDir, repoRoot } from '../config/paths.ts';
import { loadProduct, type ProductDeclaration } from '../config/products.ts';
import { readProvenance, writeProvenance, type Provenance } from '../package/provenance.ts';
import type { TestResult } from '../verdict/model.ts';
import { buildReport } from './build.ts';
import type { Report } from './model.ts';
import { writeAll } from './write.ts';

/** One shard's run folder, read. */
export interface ShardRun { dir: string; report: Report; provenance?: Provenance }

export function readShardRun(dir: string): ShardRun {
  const file = join(dir, 'report.json');
  if (!existsSync(file)) throw new InputError(dir, ['not a run folder: it has no report.json']);
  const provenance = readProvenance(dir);
  return { dir, report: JSON.parse(readFileSync(file, 'utf8')) as Report, ...(provenance ? { provenance } : {}) };
}

/** The fields every shard must share for their union to be one run. */
function identity(run: ShardRun): Record<string, string> {
  const { report: r, provenance: p } = run;
  return {
    'suite version': r.suite.version,
    product: r.product.id,
    'product version': r.product.version,
    profile: r.profile.id,
    peers: r.peers.map((x) => `${x.product} ${x.version}`).join(', '),
    'test name filter': p?.testNamePattern ?? '(none)',
    'certification mode': String(p?.certify ?? false),
    'fedconf commit': p?.fedconf.commit ?? 'unknown',
  };
}

/**
 * Checks that the shards are the complete, non-overlapping slices of one run. Returns the problems
 * (empty when they fit together): mixed products/profiles/versions, a missing or repeated shard,
 * an incomplete shard, or a test that two shards both ran.
 */
export function shardProblems(runs: ShardRun[]): string[] {
  const problems: string[] = [];
  if (runs.length === 0) return ['no run folders given'];
  const first = identity(runs[0]!);
  for (const run of runs.slice(1)) {
    for (const [field, value] of Object.entries(identity(run))) {
      if (value !== first[field]) problems.push(`${run.dir}: ${field} is ${value}, but ${runs[0]!.dir} has ${first[field]}`);
    }
  }
  for (const run of runs) if (run.report.run.status !== 'complete') problems.push(`${run.dir}: the run is incomplete (${run.report.run.note ?? 'no note'})`);
  const shards = runs.map((r) => r.provenance?.shard);
  if (shards.some((s) => !s)) {
    problems.push(`${runs.filter((r) => !r.provenance?.shard).map((r) => r.dir).join(', ')}: not a shard (no --shard in its provenance.json)`);
  } else {
    const count = shards[0]!.count;
    if (shards.some((s) => s!.count !== count)) problems.push(`the shards were cut in different counts: ${shards.map((s) => `${s!.index}/${s!.count}`).join(', ')}`);
    for (let i = 1; i <= count; i++) {
      const n = shards.filter((s) => s!.index === i).length;
      if (n === 0) problems.push(`shard ${i}/${count} is missing`);
      if (n > 1) problems.push(`shard ${i}/${count} is given ${n} times`);
    }
  }
  const seen = new Map<string, string>();
  for (const run of runs) {
    for (const t of run.report.tests) {
      const other = seen.get(t.id);
      if (other) problems.push(`test "${t.id}" is in both ${other} and ${run.dir}`);
      seen.set(t.id, run.dir);
    }
  }
  return problems;
}

/** The declaration a report was made from: by id for the committed ones (id@version too), else by its path. */
function declarationOf(report: Report, catalogue: Catalogue): ProductDeclaration {
  const base = report.product.id.split('@')[0]!;
  if (existsSync(join(productsDir, `${base}.yaml`))) return loadProduct(report.product.id, catalogue);
  return loadProduct(join(repoRoot, report.product.declaration), catalogue);
}

/** Tests in one order whatever the shards' order: by file, then in the order their file ran them. */
export function orderTests(tests: TestResult[]): TestResult[] {
  return tests.map((t, i) => ({ t, i })).sort((a, b) => (a.t.file < b.t.file ? -1 : a.t.file > b.t.file ? 1 : a.i - b.i)).map(({ t }) => t);
}

/** org-a's and org-b's implementations as the shard's report lists them (what explains FED-INTEROP's answer). */
function implementationsOf(report: Report): { implementations?: { 'org-a': string; 'org-b': string } } {
  const of = (name: string) => report.run.lab.organisations.find((o) => o.name === name)?.implementation;
  const a = of('org-a');
  const b = of('org-b');
  return a !== undefined && b !== undefined ? { implementations: { 'org-a': a, 'org-b': b } } : {};
}

/**
 * Joins shard reports into the report one job would have written: the union of the tests, with the
 * requirement answers, profile verdicts and totals recomputed by the same buildReport a run uses.
 * Run metadata: a new run id, the earliest start and the latest end; lab, peers and version from shard 1.
 */
export function mergeReports(runs: ShardRun[], catalogue: Catalogue, runId: string): Report {
  const problems = shardProblems(runs);
  if (problems.length) throw new InputError('fedconf merge', problems);
  const first = runs[0]!.report;
  const tests = orderTests(runs.flatMap((r) => r.report.tests));
  const startedAt = new Date(Math.min(...runs.map((r) => Date.parse(r.report.run.startedAt))));
  const endedAt = new Date(Math.max(...runs.map((r) => Date.parse(r.report.run.endedAt ?? r.report.run.startedAt))));
  const merged = buildReport({
    catalogue, profile: getProfile(catalogue, first.profile.id), product: declarationOf(first, catalogue),
    runId, startedAt, endedAt, complete: true, tests,
    ...(runs[0]!.provenance?.testNamePattern !== undefined ? { testFilter: runs[0]!.provenance.testNamePattern } : {}),
    ...implementationsOf(first),
  });
  return {
    ...merged,
    run: { ...merged.run, note: `merged from ${runs.length} shards: ${runs.map((r) => r.report.run.id).join(', ')}`, lab: first.run.lab },
    product: { ...merged.product, version: first.product.version },
    peers: first.peers,
  };
}

/** Writes the merged report (JSON, HTML, JUnit) with every shard's evidence and logs, and a provenance.json naming the shards. */
export function writeMerged(dir: string, runs: ShardRun[], report: Report): void {
  if (existsSync(join(runs[0]!.dir, 'declaration'))) cpSync(join(runs[0]!.dir, 'declaration'), join(dir, 'declaration'), { recursive: true });
  for (const run of runs) {
    if (existsSync(join(run.dir, 'evidence'))) cpSync(join(run.dir, 'evidence'), join(dir, 'evidence'), { recursive: true });
    const shard = run.provenance?.shard;
    if (existsSync(join(run.dir, 'logs'))) cpSync(join(run.dir, 'logs'), join(dir, 'logs', shard ? `shard-${shard.index}` : run.report.run.id), { recursive: true });
  }
  writeAll(dir, report);
  const p = runs[0]!.provenance;
  if (p) {
    const { shard: _shard, ...rest } = p;
    writeProvenance(dir, { ...rest, command: ['fedconf', ...process.argv.slice(2)], mergedFrom: runs.map((r) => ({ runId: r.report.run.id, command: r.provenance?.command ?? [] })) });
  }
}

/**
 * What "identical to a single-job run" means: the same tests (by id) with the same status and
 * requirements, the same requirement answers and reasons, profile verdicts, totals, product and peers.
 * What may differ: run id, times, notes, durations, failure messages (they name random user ids and
 * room ids) and the order tests ran in.
 */
export function comparableReport(report: Report): unknown {
  return {
    suite: report.suite,
    product: report.product,
    peers: report.peers,
    lab: report.run.lab,
    status: report.run.status,
    profile: report.profile,
    profiles: report.profiles,
    requirements: report.requirements.map((r) => ({ ...r, tests: [...r.tests].sort() })),
    tests: [...report.tests].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((t) => ({ id: t.id, name: t.name, file: t.file, requirements: t.requirements, clause: t.clause, status: t.status, evidence: t.evidence })),
    totals: report.totals,
  };
}
