import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labHome, repoRoot } from '../../harness/config/paths.ts';
import type { Report } from '../../harness/report/model.ts';

const run = promisify(execFile);

/** Runs the real CLI the way a user does, with reports going to `reportsDir`. */
export async function fedconf(args: string[], reportsDir: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'harness/cli/main.ts'), ...args],
      { cwd: repoRoot, env: { ...process.env, ...env, FEDCONF_REPORTS_DIR: reportsDir, CI: '1' }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export function startFedconf(args: string[], reportsDir: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'harness/cli/main.ts'), ...args],
    { cwd: repoRoot, env: { ...process.env, FEDCONF_REPORTS_DIR: reportsDir, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The newest report.json for a product under reportsDir. */
export function latestReport(reportsDir: string, product: string): Report {
  const runs = readdirSync(join(reportsDir, product)).sort();
  const newest = runs.at(-1);
  if (!newest) throw new Error(`no run folder for ${product} in ${reportsDir}`);
  return JSON.parse(readFileSync(join(reportsDir, product, newest, 'report.json'), 'utf8')) as Report;
}

/** Processes whose command line points into the lab's run folder: there must be none after a command. */
export function labProcessesLeft(): string[] {
  const marker = join(labHome, 'run');
  const left: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(marker)) left.push(`${pid}: ${cmdline.slice(0, 120)}`);
    } catch {
      // the process ended while we looked
    }
  }
  return left;
}

export function answerOf(report: Report, id: string): string | undefined {
  return report.requirements.find((r) => r.id === id)?.answer;
}

export function statusesFor(report: Report, id: string): string[] {
  return report.tests.filter((t) => t.requirements.includes(id)).map((t) => t.status);
}
