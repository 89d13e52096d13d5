import type { EvidenceReader, ParsedLine } from './evidence.ts';
import { readLogRecords } from './evidence.ts';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Prosody's console log as the lab writes it (harness/lab/native/prosody.ts: `time source level<TAB>message`);
 * one record per source (a session such as `c2s55d…`, or a module), so a session's lines read together.
 */
export function parseProsodyLine(line: string): ParsedLine | undefined {
  const m = /^(\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d:\d\d\S*))\s+(\S+)\s+(debug|info|warn|error)\t(.*)$/.exec(line);
  if (!m) return undefined;
  const [, stamp = '', source = '-', level, message] = m;
  // Session sources (c2s…, s2sin…, s2sout…) group a session; module sources are each line on its own.
  return { stamp, group: /^(c2s|s2s)/.test(source) ? source : '-', text: `${level} ${source}: ${message}` };
}

export function prosodyReader(logDir: string): EvidenceReader {
  return {
    product: 'prosody',
    where: `${logDir}/*.log (Prosody's log, one record per session)`,
    records: (since) => readLogRecords(logDir, parseProsodyLine, since),
    marks: {
      accountCreated: (address) => [/creat|regist|added/i, new RegExp(escape(address))],
      accountRemoved: (address) => [/delet|remov/i, new RegExp(escape(address))],
      loginFailed: (address) => [/fail|not-authorized/i, new RegExp(escape(address.split('@')[0] ?? address))],
      loginSucceeded: (address) => [/Authenticated as/, new RegExp(escape(address))],
      privilegeChanged: (_actor, subject, room) => [/affiliation|admin/i, new RegExp(escape(subject)), new RegExp(escape(room.split('@')[0] ?? room))],
    },
  };
}
