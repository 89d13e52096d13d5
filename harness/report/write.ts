import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { create } from 'xmlbuilder2';
import { validateAgainst } from '../config/load.ts';
import { reportsDir, repoRoot } from '../config/paths.ts';
import { writeAnswerSheetCsv } from './answer-sheet.ts';
import type { Report } from './model.ts';
import { parseTranscript, type Transcript } from './transcript.ts';

const here = dirname(fileURLToPath(import.meta.url));
const eta = new Eta({ views: join(here, 'templates'), autoEscape: true, cache: true });
export const reportSchemaFile = join(repoRoot, 'reports', 'report.schema.json');

/** Where a product's run writes: reports/<product>/<run-id>/ */
export function runDirectory(productId: string, runId: string, base = reportsDir): string {
  return join(base, productId, runId);
}

/** report.json, validated against the committed schema before it is written. */
export function writeReportJson(dir: string, report: Report): void {
  const file = join(dir, 'report.json');
  validateAgainst<Report>(reportSchemaFile, report, file);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** The requirement rows under the profile they belong to: included profiles (baseline) apart, then the rest of the catalogue. */
export function requirementGroups(report: Report): Array<{ profile?: Report['profiles'][number]; note?: string; requirements: Report['requirements'] }> {
  const byId = new Map(report.requirements.map((q) => [q.id, q]));
  const [main, ...included] = report.profiles;
  const placed = new Set<string>();
  const rows = (ids: string[]) => ids.flatMap((id) => { const q = byId.get(id); if (!q || placed.has(id)) return []; placed.add(id); return [q]; });
  const groups: ReturnType<typeof requirementGroups> = [];
  const ownIds = main?.requirements ?? report.requirements.filter((q) => q.inProfile).map((q) => q.id);
  const inIncluded = new Set(included.flatMap((p) => p.requirements ?? []));
  if (main) {
    groups.push({
      profile: main, requirements: rows(ownIds.filter((id) => !inIncluded.has(id))),
      ...(included.length ? { note: `The ${main.id} profile also includes ${included.map((p) => p.id).join(', ')}, listed next.` } : {}),
    });
  }
  for (const p of included) groups.push({ profile: p, note: `Included in the ${main?.id ?? ''} profile.`, requirements: rows(p.requirements ?? []) });
  groups.push({ requirements: report.requirements.filter((q) => !placed.has(q.id)) });
  return groups;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A standalone page: verdict first, then the requirements by profile, each opening onto its tests, their
 * timings and evidence transcripts (inlined; each also linked relatively to its file in the run folder).
 * Inline style only, no script, nothing fetched from anywhere.
 */
export function writeReportHtml(dir: string, report: Report): void {
  const tests = new Map(report.tests.map((t) => [t.id, t]));
  const transcripts = new Map<string, Transcript | undefined>();
  const html = eta.render('report', {
    r: report,
    groups: requirementGroups(report),
    implementation: report.run.lab.organisations.find((o) => o.name === 'org-a')?.implementation,
    anchor: (id: string) => id.replace(/[^A-Za-z0-9]+/g, '-'),
    test: (id: string) => tests.get(id),
    seconds: (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`,
    e: escapeHtml,
    href: (relative: string) => relative.split('/').map(encodeURIComponent).join('/'),
    transcript: (relative: string) => {
      if (!transcripts.has(relative)) {
        const file = resolve(dir, relative);
        let parsed: Transcript | undefined;
        if (file.startsWith(resolve(dir))) {
          try { parsed = parseTranscript(readFileSync(file, 'utf8').slice(0, 200_000)); } catch { parsed = undefined; }
        }
        transcripts.set(relative, parsed);
      }
      return transcripts.get(relative);
    },
  });
  writeFileSync(join(dir, 'report.html'), html);
}

/** JUnit XML: FAILED → <failure>, ERROR → <error> (never a failure), SKIPPED-NA / REVIEW → <skipped>. */
export function writeJunit(dir: string, report: Report): void {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
    name: `fedconf ${report.profile.id} — ${report.product.name} ${report.product.version}`,
    tests: report.tests.length, failures: report.totals.FAILED, errors: report.totals.ERROR,
  });
  // Map.groupBy needs Node 21; group by hand for Node 20.
  const byFile = new Map<string, Report['tests']>();
  for (const t of report.tests) byFile.set(t.file, [...(byFile.get(t.file) ?? []), t]);
  for (const [file, tests] of byFile) {
    const suite = root.ele('testsuite', {
      name: file, tests: tests.length,
      failures: tests.filter((t) => t.status === 'FAILED').length,
      errors: tests.filter((t) => t.status === 'ERROR').length,
      skipped: tests.filter((t) => t.status === 'SKIPPED-NA' || t.status === 'REVIEW' || t.status === 'NOT-RUN').length,
      time: (tests.reduce((s, t) => s + t.durationMs, 0) / 1000).toFixed(3),
    });
    for (const t of tests) {
      const c = suite.ele('testcase', { classname: file, name: `${t.name} [${t.requirements.join(', ')}]`, time: (t.durationMs / 1000).toFixed(3) });
      if (t.status === 'FAILED') c.ele('failure', { message: t.message?.split('\n')[0] ?? 'failed' }).txt(t.message ?? '');
      else if (t.status === 'ERROR') c.ele('error', { message: t.message?.split('\n')[0] ?? 'error' }).txt(t.message ?? '');
      else if (t.status !== 'PASSED') c.ele('skipped', { message: t.message ? `${t.status}: ${t.message}` : t.status });
    }
  }
  writeFileSync(join(dir, 'junit.xml'), root.end({ prettyPrint: true }));
}

/** Everything written after every test; the .xlsx answer sheets follow at the end (writeAnswerSheetXlsx). */
export function writeAll(dir: string, report: Report): void {
  writeReportJson(dir, report);
  writeReportHtml(dir, report);
  writeJunit(dir, report);
  writeAnswerSheetCsv(dir, report);
}
