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
  return { stamp, group: /^(c2s|s2s)/.test(source) ? source : '-', text: `${level} ${source}: ${message}`,
    ...(source === 'startup' && message?.startsWith('Hello and welcome to Prosody') ? { serverStart: true } : {}) };
}

export function prosodyReader(logDir: string): EvidenceReader {
  return {
    product: 'prosody',
    where: `${logDir}/*.log (Prosody's log, one record per session)`,
    records: (since) => readLogRecords(logDir, parseProsodyLine, since),
    exportRoute: 'Prosody writes its log as text in its own format (file or console); its one machine-readable sink is the host\'s '
      + 'syslog daemon (log sink `syslog`, through /dev/log), which the native lab does not run or capture',
    marks: {
      accountCreated: (address) => [/creat|regist|added/i, new RegExp(escape(address))],
      accountRemoved: (address) => [/delet|remov/i, new RegExp(escape(address))],
      loginFailed: (address) => [/fail|not-authorized/i, new RegExp(escape(address.split('@')[0] ?? address))],
      loginSucceeded: (address) => [/Authenticated as/, new RegExp(escape(address))],
      privilegeChanged: (_actor, subject, room) => [/affiliation|admin/i, new RegExp(escape(subject)), new RegExp(escape(room.split('@')[0] ?? room))],
      roomShutDown: (_actor, room) => [/destroy/i, new RegExp(escape(room.split('@')[0] ?? room))],
      // The allow-list is mod_host_guard's config (prosody-modules), read at start: a record would name the listed domains.
      federationPolicy: (allowed) => [/host_guard|allow|whitelist/i, ...allowed.map((d) => new RegExp(escape(d)))],
      // mod_s2s: "Incoming s2s connection <from>-><to> complete" / "Outgoing …" once a stream is authenticated.
      federationInbound: (peer) => [new RegExp(`Incoming s2s connection ${escape(peer)}->\\S+ complete`)],
      federationOutbound: (peer) => [new RegExp(`Outgoing s2s connection \\S+->${escape(peer)} complete`)],
      // mod_host_guard's own lines for a refused stream or stanza.
      federationRefused: (peer, direction) => [direction === 'in'
        ? new RegExp(`remote service ${escape(peer)} attempted to access restricted host|closing down s2s incoming stream from filtered entity ${escape(peer)}\\b`)
        : new RegExp(`attempted to connect to a filtered remote host ${escape(peer)}\\b|closing down s2s outgoing stream to filtered entity ${escape(peer)}\\b`)],
    },
  };
}
