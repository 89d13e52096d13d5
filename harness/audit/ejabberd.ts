import { join } from 'node:path';
import type { EvidenceReader, ParsedLine } from './evidence.ts';
import { readLogRecords } from './evidence.ts';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * ejabberd's own log (logs/ejabberd.log, its default `loglevel: info`): `time+offset [level] <pid>@module:function/arity:line
 * message`, with Erlang terms continued on the following lines. Each line is its own record (the lines that
 * matter name the account, the room and the source themselves); a continuation belongs to the line before.
 */
export function parseEjabberdLine(line: string): ParsedLine | undefined {
  const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+(?:Z|[+-]\d\d:\d\d)) \[(\w+)\] (.*)$/.exec(line);
  if (!m) return undefined;
  const [, stamp = '', level, message] = m;
  return { stamp, group: '-', text: `${level} ${message}` };
}

export function ejabberdReader(logDir: string): EvidenceReader {
  // The lab's ejabberd.log beside logs/ is the same output captured from standard output: read the product's file only.
  const dir = join(logDir, 'logs');
  return {
    product: 'ejabberd',
    where: `${dir}/*.log (ejabberd's log at level info, one record per line)`,
    records: (since) => readLogRecords(dir, parseEjabberdLine, since),
    marks: {
      // ejabberdctl register / unregister: what a record of the command would say (ejabberd 23.01 writes none at info).
      accountCreated: (address) => [/\bregister/i, new RegExp(escape(address))],
      accountRemoved: (address) => [/\bunregister|remove_user.*account|account.*(?:removed|deleted)/i, new RegExp(escape(address))],
      loginFailed: (address) => [/Failed c2s \S+ authentication for/, new RegExp(`for ${escape(address)}\\b`)],
      loginSucceeded: (address) => [/Accepted c2s \S+ authentication for/, new RegExp(`for ${escape(address)}\\b`)],
      // mod_muc_room logs the admin query with the actor's full JID, the room and the items (subject and affiliation).
      privilegeChanged: (actor, subject, room) => [/Processing MUC admin query from/, new RegExp(`from ${escape(actor)}\\b`),
        new RegExp(escape(room)), new RegExp(`<<"${escape(subject.split('@')[0] ?? subject)}">>`), /affiliation,admin/],
      // mod_muc_room: "Destroyed MUC room <room> by the owner <full JID>".
      roomShutDown: (actor, room) => [/Destroyed MUC room/, new RegExp(`${escape(room)} by (?:the owner )?${escape(actor)}\\b`)],
      // The allow-list is an ACL and the s2s_access rule in ejabberd.yml, read at start: a record would name the listed domains.
      federationPolicy: (allowed) => [/s2s_access|allow|whitelist/i, ...allowed.map((d) => new RegExp(escape(d)))],
      // ejabberd_s2s_in / _out once a stream is authenticated: "Accepted inbound s2s EXTERNAL authentication <from> -> <to> (ip)".
      federationInbound: (peer) => [new RegExp(`Accepted inbound s2s \\S+ authentication ${escape(peer)} -> `)],
      federationOutbound: (peer) => [new RegExp(`Accepted outbound s2s \\S+ authentication \\S+ -> ${escape(peer)} `)],
      // A peer refused by s2s_access: inbound, ejabberd_s2s_in closes the authenticated stream ("Closing inbound s2s
      // connection <peer> -> <host>: Stream closed by local host: invalid-from"); outbound, what a record would say.
      federationRefused: (peer, direction) => [direction === 'in'
        ? new RegExp(`Closing inbound s2s connection ${escape(peer)} -> \\S+: Stream closed by local host`)
        : new RegExp(`s2s.*${escape(peer)}.*(?:denied|refused|not allowed|forbidden|policy)|(?:denied|refused|not allowed|forbidden|policy).*s2s.*${escape(peer)}`, 'i')],
    },
  };
}
