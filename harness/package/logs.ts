import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Redactor } from './redact.ts';

/** A server log the lab kept: which organisation (or `dns`) and where. */
export interface LabLog { source: string; file: string; name: string }

/**
 * Copies the lab's server logs into the run folder (logs/<source>/<name>), redacted on the way, so the
 * run folder is self-contained (the lab's own folder is wiped by the next `lab up`) and never holds a
 * secret. Returns the paths written, relative to the run folder.
 */
export function keepLogs(runDir: string, logs: LabLog[], redactor: Redactor): string[] {
  const written: string[] = [];
  for (const log of logs) {
    let text: string;
    try {
      text = readFileSync(log.file, 'utf8');
    } catch {
      continue; // a server that never started leaves no log
    }
    const relative = join('logs', log.source, log.name);
    mkdirSync(dirname(join(runDir, relative)), { recursive: true });
    writeFileSync(join(runDir, relative), redactor.redact(text));
    written.push(relative);
  }
  return written;
}

/**
 * Rewrites every text file under `dir` through the redactor (evidence transcripts, allure attachments):
 * the scenarios' workers never know the lab's secrets by value, the run does.
 */
export function redactFolder(dir: string, redactor: Redactor): void {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return;
  }
  for (const name of names) redactFile(join(dir, name), redactor);
}

/** Rewrites one text file through the redactor; folders, binary and missing files are left alone. */
export function redactFile(file: string, redactor: Redactor): void {
  let data: Buffer;
  try {
    if (!statSync(file).isFile()) return;
    data = readFileSync(file);
  } catch {
    return;
  }
  if (data.subarray(0, 8192).includes(0)) return; // binary attachments
  const text = data.toString('utf8');
  const clean = redactor.redact(text);
  if (clean !== text) writeFileSync(file, clean);
}
