import type { EvidenceReader, ParsedLine } from './evidence.ts';
import { readLogRecords } from './evidence.ts';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `@alice:org-a.test` → `alice`: Dendrite's handlers log the localpart, not the user id. */
const localpart = (address: string): string => address.replace(/^@/, '').split(':')[0] ?? address;

/**
 * Dendrite's log as its `logging: [{type: std, level: info}]` writes it (logrus text format:
 * `time="…" level=info msg=… key=value …`); one record per request id (`req.id=`), so what the handlers logged
 * for one request (the endpoint, the user) reads together.
 */
export function parseDendriteLine(line: string): ParsedLine | undefined {
  const m = /^time="([^"]+)" (level=\S+ .*)$/.exec(line);
  if (!m) return undefined;
  const [, stamp = '', text = ''] = m;
  return { stamp, group: /\breq\.id=(\S+)/.exec(text)?.[1] ?? '-', text };
}

export function dendriteReader(logDir: string): EvidenceReader {
  return {
    product: 'dendrite',
    where: `${logDir}/*.log (Dendrite's standard output at level info, logrus text format, one record per request id)`,
    records: (since) => readLogRecords(logDir, parseDendriteLine, since),
    marks: {
      // Shared-secret registration logs the new device of the new account, with the endpoint; the actor is the
      // holder of the secret, and the record names no source address.
      accountCreated: (address) => [/req\.path=\/_synapse\/admin\/v1\/register\b/, new RegExp(`localpart=${escape(localpart(address))}\\b`)],
      accountRemoved: (address) => [/deactivat/i, new RegExp(`${escape(localpart(address))}\\b`)],
      // At level info Dendrite writes nothing for a refused password; this is what a record of it would say.
      loginFailed: (address) => [/req\.path=\/_matrix\/client\/v3\/login\b/, /fail|invalid|forbidden|incorrect/i, new RegExp(`${escape(localpart(address))}\\b`)],
      loginSucceeded: (address) => [/PerformDeviceCreation/, /req\.path=\/_matrix\/client\/v3\/login\b/, new RegExp(`localpart=${escape(localpart(address))}\\b`)],
      // The record of the new power levels names the actor (user_id) and the room; the subject is in the event only.
      privilegeChanged: (actor, _subject, room) => [/Sent event to roomserver/, new RegExp(`user_id="?${escape(actor)}"?`),
        new RegExp(`req\\.path="?/_matrix/client/v3/rooms/(?:${escape(room)}|${escape(encodeURIComponent(room))})/state/m\\.room\\.power_levels`)],
      // Outbound: the federation sender names the destination (e.g. "Sending invite destination=<peer>").
      federationOutbound: (peer) => [new RegExp(`destination="?${escape(peer)}"?(?:\\s|$)`)],
      // Inbound: what a record of a request from the peer would say (the origin or a federation path with its name).
      federationInbound: (peer) => [new RegExp(`origin="?${escape(peer)}"?(?:\\s|$)|req\\.path="?/_matrix/federation/\\S*${escape(peer)}`)],
    },
  };
}
