import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../config/input-error.ts';
import { displayPath, readJson, validateAgainst } from '../config/load.ts';
import type { Report } from './model.ts';
import { reportSchemaFile } from './write.ts';

export interface LoadedReport {
  report: Report;
  /** The run folder: where report.json, the evidence and the answer sheets live. */
  dir: string;
  file: string;
}

/**
 * Reads a finished (or interrupted) run: a run folder or its report.json. Anything that is not a
 * valid report is an InputError naming the file, so the CLI exits 2 with that message.
 */
export function loadReport(runOrFile: string): LoadedReport {
  const path = resolve(runOrFile);
  if (!existsSync(path)) throw new InputError(runOrFile, ['no such run folder or report.json']);
  const file = statSync(path).isDirectory() ? join(path, 'report.json') : path;
  if (!existsSync(file)) throw new InputError(displayPath(file), ['the folder has no report.json: give a run folder (reports/<product>/<run-id>/) or a report.json']);
  const report = validateAgainst<Report>(reportSchemaFile, readJson(file), file);
  return { report, dir: dirname(file), file };
}
