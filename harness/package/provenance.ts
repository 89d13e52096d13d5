import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { displayPath } from '../config/load.ts';
import { repoRoot } from '../config/paths.ts';
import { suiteVersion } from '../report/build.ts';
import type { Redactor } from './redact.ts';

/** A slice of the suite: shard `index` of `count` (1-based), by test file. */
export interface Shard { index: number; count: number }

/**
 * How a run came about, next to its report (provenance.json): what a reader needs to reproduce it and
 * what `package` and `merge` check. Never holds a secret: the command line is redacted before it is written.
 */
export interface Provenance {
  fedconf: { version: string; commit: string; dirty: boolean };
  node: string;
  platform: string;
  command: string[];
  product: string;
  /** The declaration files the run read (the product, and the stock product playing the peers). */
  declarations: string[];
  /** The external target declaration, for runs against a deployment fedconf did not start. */
  target?: string;
  profile: string;
  testNamePattern?: string;
  shard?: Shard;
  certify: boolean;
  /** For a report `fedconf merge` joined: the shard runs it came from. */
  mergedFrom?: Array<{ runId: string; command: string[] }>;
}

export const provenanceFile = 'provenance.json';

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** The commit the suite runs from; dirty when tracked files differ from it. */
export function suiteCommit(): Provenance['fedconf'] {
  return { version: suiteVersion, commit: git(['rev-parse', 'HEAD']) ?? 'unknown (not a git checkout)', dirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '' };
}

export function describeRun(input: Omit<Provenance, 'fedconf' | 'node' | 'platform' | 'command' | 'declarations'> & { declarations: string[] }, redactor: Redactor): Provenance {
  return {
    fedconf: suiteCommit(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    command: ['fedconf', ...process.argv.slice(2)].map((a) => redactor.redact(a)),
    ...input,
    declarations: [...new Set(input.declarations.map(displayPath))],
    ...(input.target ? { target: displayPath(input.target) } : {}),
  };
}

export function writeProvenance(dir: string, provenance: Provenance): void {
  writeFileSync(join(dir, provenanceFile), `${JSON.stringify(provenance, null, 2)}\n`);
}

/** Copies the declarations a run read into its folder (declaration/), as they were when it ran. */
export function keepDeclarations(dir: string, files: string[]): void {
  mkdirSync(join(dir, 'declaration'), { recursive: true });
  for (const file of new Set(files)) if (existsSync(file)) copyFileSync(file, join(dir, 'declaration', basename(file)));
}

export function readProvenance(dir: string): Provenance | undefined {
  const file = join(dir, provenanceFile);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as Provenance : undefined;
}

/** `i/N` from the command line. */
export function parseShard(text: string): Shard | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const [index, count] = [Number(m[1]), Number(m[2])];
  return index >= 1 && count >= 1 && index <= count ? { index, count } : undefined;
}
