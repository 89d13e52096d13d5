import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { ProductDeclaration, RecordSourceDeclaration } from '../config/products.ts';
import type { OrganisationDescription, RecordSource } from '../lab/types.ts';
import { readSecret } from '../provisioning/secrets.ts';
import type { EvidenceReader, LogRecord } from './evidence.ts';
import { readStamp } from './evidence.ts';

/**
 * A vendor's record source as its declaration states it (`logs.source`, profiles/schema/product.schema.json): a
 * file, a command or an HTTP endpoint, and the marks of each action as regular expressions. See
 * fixtures/templates/products/README.md, "Audit records".
 */
export function recordSourceOf(product: ProductDeclaration): RecordSource | undefined {
  const d = product.logs.source;
  if (!d) return undefined;
  const { token, ...rest } = d;
  return { ...rest, ...(token ? { token: { env: token.slice('env:'.length) } } : {}), declaredIn: dirname(product.file) };
}

export type { RecordSourceDeclaration };

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** By default a record's stamp is the first ISO 8601 timestamp in its line. */
const defaultStamp = /(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)/;

/** Text into records: a line with a stamp begins one; a line without belongs to the record before it. */
export function recordsOfText(text: string, where: string, stamp: RegExp, since: Date): LogRecord[] {
  const records: LogRecord[] = [];
  let last: LogRecord | undefined;
  for (const line of text.split('\n')) {
    const found = stamp.exec(line)?.[1];
    const read = found ? readStamp(found.replace(/^(\d{4}-\d\d-\d\d) /, '$1T')) : undefined;
    if (!found || !read) {
      if (last && line) last.text += `\n${line}`;
      continue;
    }
    last = { file: where, stamp: found, ...read, text: line };
    if (read.time.getTime() >= since.getTime() - 1000) records.push(last); // second-resolution stamps
  }
  return records;
}

/** Without a declared mark: the record must name every party (plain text), and say how a login ended. */
const plainMarks = {
  accountCreated: ['{address}'],
  accountRemoved: ['{address}'],
  loginFailed: ['{address}', '(?i)fail|denied|invalid|refused|not.authori[sz]ed|wrong'],
  loginSucceeded: ['{address}', '(?i)succe|accepted|logged.in|authenticated'],
  privilegeChanged: ['{actor}', '{subject}', '{room}'],
} as const;

/** A declared pattern with its placeholders filled by the action's (escaped) names; `(?i)` at its start: any case. */
function mark(pattern: string, names: Record<string, string>): RegExp {
  const caseless = pattern.startsWith('(?i)');
  const body = (caseless ? pattern.slice(4) : pattern).replace(/\{(address|actor|subject|room)\}/g, (_, k: string) => escape(names[k] ?? ''));
  return new RegExp(body, caseless ? 'i' : '');
}

export function declaredReader(source: RecordSource, org: OrganisationDescription): EvidenceReader {
  const base = org.logDir ?? source.declaredIn;
  const where = source.file ? (isAbsolute(source.file) ? source.file : join(base, source.file))
    : source.command ? `the output of \`${source.command.join(' ')}\``
    : `GET ${source.url}${source.token ? ` (bearer token env:${source.token.env})` : ''}`;
  const stamp = source.stamp ? new RegExp(source.stamp) : defaultStamp;
  const fetchText = async (since: Date): Promise<string> => {
    if (source.file) return readFileSync(where, 'utf8');
    if (source.command) {
      const [command = '', ...args] = source.command;
      return execFileSync(command, args, { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
    }
    const url = (source.url ?? '').replace('{since}', encodeURIComponent(since.toISOString()));
    const response = await fetch(url, { headers: source.token ? { authorization: `Bearer ${readSecret(source.token)}` } : {}, signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`${org.product}'s record source ${source.url} answered ${response.status}`);
    return response.text();
  };
  const declared = (key: keyof typeof plainMarks, names: Record<string, string>): RegExp[] =>
    (source.marks?.[key] ?? plainMarks[key]).map((p) => mark(p, names));
  return {
    product: org.product,
    where: `${where} (declared record source)`,
    records: async (since) => recordsOfText(await fetchText(since), where, stamp, since),
    marks: {
      accountCreated: (address) => declared('accountCreated', { address }),
      accountRemoved: (address) => declared('accountRemoved', { address }),
      loginFailed: (address) => declared('loginFailed', { address }),
      loginSucceeded: (address) => declared('loginSucceeded', { address }),
      privilegeChanged: (actor, subject, room) => declared('privilegeChanged', { actor, subject, room }),
    },
  };
}
