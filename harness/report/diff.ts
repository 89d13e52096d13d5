import type { Answer, ProfileVerdict, TestStatus } from '../verdict/model.ts';
import type { Report } from './model.ts';

/**
 * What changed between two runs (A = the baseline, B = the new run): per requirement its answer, per
 * test its status, per profile its verdict. Pure: reads two reports, decides nothing else. The CI use
 * is "same profile, same product, two server versions": any regression fails the job.
 */
export type Change = 'improved' | 'regressed' | 'changed' | 'added' | 'removed';

export interface RequirementChange {
  id: string;
  level: string;
  change: Change;
  /** Absent when the requirement is new in B (added) or gone from B (removed). */
  from?: Answer;
  to?: Answer;
  /** B's reason (A's when removed). */
  reason: string;
  /** Why the change is classed so, when it is not obvious from the answers. */
  note?: string;
}

export interface TestChange {
  id: string;
  requirements: string[];
  change: Change;
  from?: TestStatus;
  to?: TestStatus;
  /** B's message (A's when removed), first line. */
  message?: string;
}

export interface ProfileChange {
  id: string;
  change: Exclude<Change, 'added' | 'removed' | 'changed'>;
  from: ProfileVerdict['verdict'];
  to: ProfileVerdict['verdict'];
}

export interface RunSummary {
  product: string;
  version: string;
  profile: string;
  runId: string;
  status: Report['run']['status'];
}

export interface ReportDiff {
  a: RunSummary;
  b: RunSummary;
  /** Things that make the comparison less meaningful (other profile, other product, incomplete run). */
  warnings: string[];
  profiles: ProfileChange[];
  requirements: RequirementChange[];
  tests: TestChange[];
  counts: Record<Change, number> & { unchangedRequirements: number; unchangedTests: number };
  /** True when anything regressed: the CLI exits 1. */
  regression: boolean;
}

const decided: Partial<Record<Answer, number>> = { No: 0, Partial: 1, Yes: 2 };

/**
 * An answer's move from A to B. Among Yes / Partial / No the order decides. Losing a Yes or Partial to
 * Not tested is a regression (the evidence is gone: a test now errs, was not run, or was dropped);
 * gaining one from Not tested is an improvement. Anything else that moves (No ↔ Not tested, Not
 * applicable) is a change a person should look at, not a verdict on the product.
 */
export function classifyAnswer(from: Answer, to: Answer): { change: Change | 'unchanged'; note?: string } {
  if (from === to) return { change: 'unchanged' };
  const [x, y] = [decided[from], decided[to]];
  if (x !== undefined && y !== undefined) return { change: y > x ? 'improved' : 'regressed' };
  if (from === 'Not tested' && (to === 'Yes' || to === 'Partial')) return { change: 'improved', note: 'newly evidenced' };
  if ((from === 'Yes' || from === 'Partial') && to === 'Not tested') return { change: 'regressed', note: 'evidence lost: no longer decided' };
  if (to === 'Not applicable' || from === 'Not applicable') return { change: 'changed', note: 'applicability changed (declaration or protocol)' };
  return { change: 'changed', note: to === 'No' ? 'newly decided' : 'no longer decided' };
}

/** A test's move: reaching PASSED improves, leaving it regresses, other moves are changes. */
export function classifyTest(from: TestStatus, to: TestStatus): Change | 'unchanged' {
  if (from === to) return 'unchanged';
  if (to === 'PASSED') return 'improved';
  if (from === 'PASSED') return 'regressed';
  return 'changed';
}

const summary = (r: Report): RunSummary => ({ product: r.product.id, version: r.product.version, profile: r.profile.id, runId: r.run.id, status: r.run.status });
const firstLine = (text?: string) => text?.split('\n')[0];

export function diffReports(a: Report, b: Report): ReportDiff {
  const warnings: string[] = [];
  if (a.profile.id !== b.profile.id) warnings.push(`the runs are of different profiles (${a.profile.id} vs ${b.profile.id})`);
  // synapse@1.150.0 and synapse are one product at two versions: the CI use, no warning.
  const productOf = (r: Report) => r.product.id.replace(/@[^@]*$/, '');
  if (productOf(a) !== productOf(b)) warnings.push(`the runs are of different products (${a.product.id} vs ${b.product.id})`);
  for (const [side, r] of [['A', a], ['B', b]] as const) {
    if (r.run.status !== 'complete') warnings.push(`run ${side} (${r.run.id}) is incomplete${r.run.note ? `: ${r.run.note}` : ''}`);
  }

  const profiles: ProfileChange[] = [];
  for (const p of b.profiles) {
    const before = a.profiles.find((x) => x.id === p.id);
    if (!before || before.verdict === p.verdict) continue;
    profiles.push({ id: p.id, change: p.verdict === 'CONFORMANT' ? 'improved' : 'regressed', from: before.verdict, to: p.verdict });
  }

  const requirements: RequirementChange[] = [];
  let unchangedRequirements = 0;
  const bRequirements = new Map(b.requirements.map((r) => [r.id, r]));
  for (const r of a.requirements) {
    const now = bRequirements.get(r.id);
    if (!now) {
      requirements.push({ id: r.id, level: r.level, change: 'removed', from: r.answer, reason: r.reason });
      continue;
    }
    const { change, note } = classifyAnswer(r.answer, now.answer);
    if (change === 'unchanged' && r.level === now.level) {
      unchangedRequirements++;
      continue;
    }
    const levelNote = r.level !== now.level ? `level ${r.level} → ${now.level}` : undefined;
    const notes = [note, levelNote].filter(Boolean).join('; ');
    requirements.push({
      id: r.id, level: now.level, change: change === 'unchanged' ? 'changed' : change, from: r.answer, to: now.answer, reason: now.reason,
      ...(notes ? { note: notes } : {}),
    });
  }
  const aRequirementIds = new Set(a.requirements.map((r) => r.id));
  for (const r of b.requirements.filter((x) => !aRequirementIds.has(x.id))) {
    requirements.push({ id: r.id, level: r.level, change: 'added', to: r.answer, reason: r.reason });
  }

  const tests: TestChange[] = [];
  let unchangedTests = 0;
  const bTests = new Map(b.tests.map((t) => [t.id, t]));
  for (const t of a.tests) {
    const now = bTests.get(t.id);
    if (!now) {
      tests.push({ id: t.id, requirements: t.requirements, change: 'removed', from: t.status, ...(t.message ? { message: firstLine(t.message)! } : {}) });
      continue;
    }
    const change = classifyTest(t.status, now.status);
    if (change === 'unchanged') {
      unchangedTests++;
      continue;
    }
    tests.push({ id: t.id, requirements: now.requirements, change, from: t.status, to: now.status, ...(now.message ? { message: firstLine(now.message)! } : {}) });
  }
  const aTestIds = new Set(a.tests.map((t) => t.id));
  for (const t of b.tests.filter((x) => !aTestIds.has(x.id))) {
    tests.push({ id: t.id, requirements: t.requirements, change: 'added', to: t.status, ...(t.message ? { message: firstLine(t.message)! } : {}) });
  }

  const removed = tests.filter((t) => t.change === 'removed').length;
  if (removed) warnings.push(`${removed} test(s) of A are not in B (another -t filter or suite version?): a Yes they evidenced and B lacks counts as evidence lost`);

  const all: Array<{ change: Change }> = [...profiles, ...requirements, ...tests];
  const count = (change: Change) => [...requirements, ...tests].filter((x) => x.change === change).length;
  return {
    a: summary(a), b: summary(b), warnings, profiles, requirements, tests,
    counts: {
      improved: count('improved'), regressed: count('regressed'), changed: count('changed'), added: count('added'), removed: count('removed'),
      unchangedRequirements, unchangedTests,
    },
    regression: all.some((x) => x.change === 'regressed'),
  };
}

const order: Change[] = ['regressed', 'improved', 'changed', 'added', 'removed'];
const titles: Record<Change, string> = { regressed: 'Regressed', improved: 'Improved', changed: 'Changed', added: 'Added', removed: 'Removed' };

/** The diff for a terminal or a CI log: regressions first, one line per requirement or test. */
export function diffText(diff: ReportDiff): string {
  const run = (r: RunSummary) => `${r.product.endsWith(`@${r.version}`) ? r.product : `${r.product} ${r.version}`} (run ${r.runId}, profile ${r.profile})`;
  const lines = [`fedconf diff: A = ${run(diff.a)}`, `              B = ${run(diff.b)}`];
  for (const w of diff.warnings) lines.push(`warning: ${w}`);
  for (const p of diff.profiles) lines.push(`profile ${p.id}: ${p.from} → ${p.to} (${p.change})`);
  const arrow = (from?: string, to?: string) => `${from ?? '(none)'} → ${to ?? '(none)'}`;
  for (const change of order) {
    const reqs = diff.requirements.filter((r) => r.change === change);
    const tests = diff.tests.filter((t) => t.change === change);
    if (reqs.length + tests.length === 0) continue;
    lines.push('', `${titles[change]}:`);
    for (const r of reqs) lines.push(`  ${r.id.padEnd(16)} ${r.level.padEnd(7)} ${arrow(r.from, r.to).padEnd(30)} ${r.reason}${r.note ? ` [${r.note}]` : ''}`);
    for (const t of tests) lines.push(`  test ${arrow(t.from, t.to).padEnd(22)} ${t.id} [${t.requirements.join(', ')}]${t.message ? `\n       ${t.message}` : ''}`);
  }
  const c = diff.counts;
  lines.push('', `${c.regressed} regressed, ${c.improved} improved, ${c.changed} changed, ${c.added} added, ${c.removed} removed; `
    + `unchanged: ${c.unchangedRequirements} requirements, ${c.unchangedTests} tests`);
  lines.push(diff.regression ? 'REGRESSION: B is worse than A' : 'no regression');
  return lines.join('\n');
}
