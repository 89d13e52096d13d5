import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One record in a server's log: the lines the product writes for one request or session, as one unit
 * (Synapse's request id, Prosody's session), with the time of its first line.
 */
export interface LogRecord {
  file: string;
  /** The timestamp as written. */
  stamp: string;
  time: Date;
  /** true: the stamp says UTC or its offset; false: local time of an unstated zone (read here as the machine's). */
  zoned: boolean;
  text: string;
}

/** One line as a product's log format reads it; undefined for a continuation line (a traceback). */
export interface ParsedLine {
  stamp: string;
  group: string;
  text: string;
  /** The server's first line at a start: group ids restart with the server, so no record continues past it. */
  serverStart?: boolean;
}

/** How one product's lab logs are read, and which record says what (harness/audit/<product>.ts). */
export interface EvidenceReader {
  readonly product: string;
  /** Where the records come from, for the evidence. */
  readonly where: string;
  /**
   * AUD-EXPORT: a machine-readable route the product offers that the lab does not capture (said as the reason the
   * check cannot run here); unset when the lab's own log files are where machine-readable records would be.
   */
  readonly exportRoute?: string;
  /** Every record that began at or after `since` (a declared command or endpoint answers later). */
  records(since: Date): LogRecord[] | Promise<LogRecord[]>;
  /** What a record of each action must contain (every pattern matches the same record). */
  readonly marks: {
    accountCreated(address: string): RegExp[];
    accountRemoved(address: string): RegExp[];
    loginFailed(address: string): RegExp[];
    loginSucceeded(address: string): RegExp[];
    /** `actor` raised `subject`'s privileges in `room` (power levels / affiliation). */
    privilegeChanged(actor: string, subject: string, room: string): RegExp[];
    // Optional marks: a reader without one answers REVIEW for that record (findRecord), not FAILED.
    /** `actor` made `subject` a server administrator. */
    serverAdminGranted?(actor: string, subject: string): RegExp[];
    /** `actor` shut the room down (Matrix admin API) or destroyed it (XMPP, the owner). */
    roomShutDown?(actor: string, room: string): RegExp[];
    /** The server started with a federation allow-list of `allowed` domains. */
    federationPolicy?(allowed: string[]): RegExp[];
    /** A federation connection / request from `peer` was accepted. */
    federationInbound?(peer: string): RegExp[];
    /** A federation connection / request to `peer` was made. */
    federationOutbound?(peer: string): RegExp[];
    /** Federation with `peer` was refused by the server's policy: `in` a request / stream from it, `out` one to it. */
    federationRefused?(peer: string, direction: 'in' | 'out'): RegExp[];
  };
}

/** ISO-8601-like stamps: date, time, optional fraction, optional `Z` / offset. */
const stampPattern = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$/;

/** Reads a timestamp; a stamp without zone is read as the machine's local time and marked so. */
export function readStamp(stamp: string): { time: Date; zoned: boolean } | undefined {
  const m = stampPattern.exec(stamp);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac = '0', zone] = m;
  const ms = Math.round(Number(`0.${frac}`) * 1000);
  const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), ms] as const;
  if (!zone) return { time: new Date(...parts), zoned: false };
  const utc = Date.UTC(...parts);
  if (zone === 'Z') return { time: new Date(utc), zoned: true };
  const sign = zone.startsWith('-') ? -1 : 1;
  const [oh, om] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))];
  return { time: new Date(utc - sign * (oh * 60 + om) * 60_000), zoned: true };
}

/** Every *.log under `dir`, read into records grouped by the format's group key (per file). */
export function readLogRecords(dir: string, parse: (line: string) => ParsedLine | undefined, since: Date): LogRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.log')).sort();
  } catch {
    return [];
  }
  const records: LogRecord[] = [];
  for (const name of names) {
    const groups = new Map<string, LogRecord>();
    let last: LogRecord | undefined;
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      const parsed = parse(line);
      const read = parsed && readStamp(parsed.stamp);
      if (!parsed || !read) {
        if (last && line) last.text += `\n${line}`;
        continue;
      }
      if (parsed.serverStart) groups.clear();
      const open = groups.get(parsed.group);
      // A group id seen again a minute later is a new request or session (ids restart with the server).
      if (open && parsed.group !== '-' && read.time.getTime() - open.time.getTime() < 60_000) {
        open.text += `\n${parsed.text}`;
        last = open;
        continue;
      }
      last = { file: join(dir, name), stamp: parsed.stamp, ...read, text: parsed.text };
      groups.set(parsed.group, last);
      if (read.time.getTime() >= since.getTime() - 1000) records.push(last); // second-resolution stamps
    }
  }
  return records;
}
