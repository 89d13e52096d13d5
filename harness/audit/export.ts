import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * AUD-EXPORT: which of an organisation's log files a central log management can take in without a product-specific
 * parser: JSON lines (each line one JSON object with a timestamp field) or syslog (RFC 5424 / RFC 3164 lines).
 */
export type ExportFormat = 'JSON lines' | 'syslog (RFC 5424)' | 'syslog (RFC 3164)';

export interface LogFile { file: string; format: ExportFormat | 'text'; lines: string[] }

const timeFields = ['time', 'timestamp', '@timestamp', 'ts', 'date'];

function isJsonRecord(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return !!value && typeof value === 'object' && !Array.isArray(value) && timeFields.some((f) => f in value);
  } catch {
    return false;
  }
}

const rfc5424 = /^<\d{1,3}>1 (\d{4}-\d\d-\d\dT\S+|-) \S+ \S+ \S+ \S+ /;
const rfc3164 = /^<\d{1,3}>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ /;

/** The format every non-empty line of `lines` is in, or 'text'. */
export function formatOf(lines: string[]): LogFile['format'] {
  if (lines.length === 0) return 'text';
  if (lines.every(isJsonRecord)) return 'JSON lines';
  if (lines.every((l) => rfc5424.test(l))) return 'syslog (RFC 5424)';
  if (lines.every((l) => rfc3164.test(l))) return 'syslog (RFC 3164)';
  return 'text';
}

/** Every log file under `dir` (*.log, *.json, *.jsonl), with the format its lines are in. */
export function logFiles(dir: string): LogFile[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => /\.(log|jsonl?)$/.test(n)).sort();
  } catch {
    return [];
  }
  return names.map((name) => {
    const file = join(dir, name);
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
    return { file, format: formatOf(lines), lines };
  });
}

/** A machine-readable line's time, where its format states one with a date (RFC 3164 stamps have no year). */
export function timeOf(line: string, format: LogFile['format']): Date | undefined {
  if (format === 'JSON lines') {
    const value = JSON.parse(line) as Record<string, unknown>;
    const stamp = timeFields.map((f) => value[f]).find((v) => v !== undefined);
    if (typeof stamp === 'number') return new Date(stamp > 1e12 ? stamp : stamp * 1000);
    return typeof stamp === 'string' && !Number.isNaN(Date.parse(stamp)) ? new Date(stamp) : undefined;
  }
  if (format === 'syslog (RFC 5424)') {
    const stamp = line.split(' ')[1] ?? '-';
    return Number.isNaN(Date.parse(stamp)) ? undefined : new Date(stamp);
  }
  return undefined;
}
