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
  const group = request === '-' || request === 'None' ? '-' : request;
  return { stamp, group, text: `${level} ${logger}: ${parts.slice(5).join(' - ')}` };
}

export function synapseReader(logDir: string): EvidenceReader {
  return {
    product: 'synapse',
    where: `${logDir}/*.log (Python logging, one record per request id)`,
    records: (since) => readLogRecords(logDir, parseSynapseLine, since),
    marks: {
      // Shared-secret registration: the actor is the holder of the secret, from the address in the access line.
      accountCreated: (address) => [/"POST \/_synapse\/admin\/v1\/register /, new RegExp(escape(address))],
      accountRemoved: (address) => [/deactivat/i, new RegExp(escape(address))],
      loginFailed: (address) => [/Failed password login/, new RegExp(escape(address))],
      loginSucceeded: (address) => [/Logging in user/, new RegExp(escape(address)), /"POST \/_matrix\/client\/v3\/login /],
      // The access line names the actor and the room; the new levels (the subject) are in the room's state only.
      privilegeChanged: (actor, _subject, room) => [new RegExp(`\\{${escape(actor)}\\}`),
        new RegExp(`"PUT /_matrix/client/v3/rooms/${escape(encodeURIComponent(room))}/state/m\\.room\\.power_levels`)],
    },
  };
}
