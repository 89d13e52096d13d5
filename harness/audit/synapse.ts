import type { EvidenceReader, ParsedLine } from './evidence.ts';
import { readLogRecords } from './evidence.ts';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Synapse's log as the lab writes it (harness/lab/native/synapse.ts logConfig: `time - logger - line - level -
 * request - message`); one record per request id, so the access line (source address, user, endpoint) and what
 * the handlers logged for the same request read together.
 */
export function parseSynapseLine(line: string): ParsedLine | undefined {
  const parts = line.split(' - ');
  if (parts.length < 6) return undefined;
  const [stamp = '', logger, , level, request = '-'] = parts;
  // Request and background-process ids end in a counter (POST-27, GET-O-4); contexts without one (main, sentinel,
  // call_when_running) recur at every start, so their lines stand alone.
  const group = /-\d+$/.test(request) ? request : '-';
  const message = parts.slice(5).join(' - ');
  return { stamp, group, text: `${level} ${logger}: ${message}`, ...(message.includes('***** STARTING SERVER *****') ? { serverStart: true } : {}) };
}

export function synapseReader(logDir: string): EvidenceReader {
  return {
    product: 'synapse',
    where: `${logDir}/*.log (Python logging, one record per request id)`,
    records: (since) => readLogRecords(logDir, parseSynapseLine, since),
    marks: {
      // Shared-secret registration: the actor is the holder of the secret, from the address in the access line.
      accountCreated: (address) => [/"POST \/_synapse\/admin\/v1\/register /, new RegExp(escape(address))],
      // Admin API deactivation: "<actor> requested deactivation of <subject> erase_data=…".
      accountRemoved: (address) => [new RegExp(`\\S+ requested deactivation of ${escape(address)}`)],
      loginFailed: (address) => [/Failed password login/, new RegExp(escape(address))],
      loginSucceeded: (address) => [/Logging in user/, new RegExp(escape(address)), /"POST \/_matrix\/client\/v3\/login /],
      // The access line names the actor and the room; the new levels (the subject) are in the room's state only.
      privilegeChanged: (actor, _subject, room) => [new RegExp(`\\{${escape(actor)}\\}`),
        new RegExp(`"PUT /_matrix/client/v3/rooms/${escape(encodeURIComponent(room))}/state/m\\.room\\.power_levels`)],
      // Admin API calls: the access line names the operator and the subject (in the path); the body (admin: true) is not logged.
      serverAdminGranted: (actor, subject) => [new RegExp(`\\{${escape(actor)}\\}`),
        new RegExp(`"PUT /_synapse/admin/v2/users/${escape(encodeURIComponent(subject))} `)],
      roomShutDown: (actor, room) => [new RegExp(`\\{${escape(actor)}\\}`),
        new RegExp(`"DELETE /_synapse/admin/v[12]/rooms/${escape(encodeURIComponent(room))} `)],
      // federation_domain_whitelist is read from the config at start: a record of it would name every listed domain.
      federationPolicy: (allowed) => [/federation.*(whitelist|allow)/i, ...allowed.map((d) => new RegExp(escape(d)))],
      // Inbound: the access line of a signed federation request names the origin server as the requester.
      federationInbound: (peer) => [new RegExp(`\\{${escape(peer)}\\} Processed request: .*"[A-Z]+ /_matrix/(federation|key)/`)],
      federationOutbound: (peer) => [new RegExp(`\\[${escape(peer)}\\] Completed request: `)],
      federationRefused: (peer, direction) => [direction === 'in'
        ? new RegExp(`authenticate_request failed: 403: Federation denied with ${escape(peer)}\\.`)
        // Outbound: the local request that needed the peer (e.g. "Failed to get profile information for …: 403: Federation
        // denied with <peer>."), not an inbound request's refusal.
        : new RegExp(`^(?![\\s\\S]*authenticate_request failed)[\\s\\S]*Federation denied with ${escape(peer)}\\.`)],
    },
  };
}
