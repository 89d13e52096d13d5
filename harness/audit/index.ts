import type { OrganisationDescription } from '../lab/types.ts';
import type { Session } from '../scenario/scenario.ts';
import { ConformanceFailure, NeedsReview } from '../verdict/failure.ts';
import type { EvidenceReader, LogRecord } from './evidence.ts';
import { declaredReader } from './declared.ts';
import { dendriteReader } from './dendrite.ts';
import { ejabberdReader } from './ejabberd.ts';
import { prosodyReader } from './prosody.ts';
import { synapseReader } from './synapse.ts';

export type { EvidenceReader, LogRecord } from './evidence.ts';

/** The evidence reader for an organisation's product, or undefined when the harness cannot fetch its records. */
export function evidenceReader(org: OrganisationDescription): EvidenceReader | undefined {
  if (org.recordSource) return declaredReader(org.recordSource, org);
  if (!org.logDir) return undefined;
  switch (org.implementation) {
    case 'synapse': return synapseReader(org.logDir);
    case 'prosody': return prosodyReader(org.logDir);
    case 'dendrite': return dendriteReader(org.logDir);
    case 'ejabberd': return ejabberdReader(org.logDir);
    default: return undefined;
  }
}

/** How far a record's time may lie outside the action's start and end (stamps of whole seconds, flush delay). */
export const toleranceMs = 2000;

/** An action the scenario performed, for the record search and for a person's review. */
export interface Action { what: string; started: Date; ended: Date }

/** Runs `act`, noting when it started and ended by the harness clock. */
export async function timed(what: string, act: () => Promise<unknown>): Promise<Action> {
  const started = new Date();
  await act();
  return { what, started, ended: new Date() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The product's record of `action`: a record matching every pattern of `mark`, written within the tolerance of the
 * action's time. No reader, or a reader without that mark: REVIEW, naming what a person must look for and when. No record: FAILED, with the
 * records of that time as evidence.
 */
export async function findRecord(s: Session, org: OrganisationDescription, action: Action,
  mark: (reader: EvidenceReader) => RegExp[] | undefined): Promise<LogRecord> {
  const reader = evidenceReader(org);
  const window = `${new Date(action.started.getTime() - toleranceMs).toISOString()} – ${new Date(action.ended.getTime() + toleranceMs).toISOString()}`;
  if (!reader) {
    const why = org.logDir ? `the harness has no evidence reader for ${org.implementation} yet (its logs: ${org.logDir})` : `the harness has no way to fetch ${org.product}'s records (its declaration names no logs.source)`;
    throw new NeedsReview(`${why}: a person must check that they show "${action.what}" with actor, subject and a time in ${window}`);
  }
  const patterns = mark(reader);
  if (!patterns) {
    throw new NeedsReview(`the harness does not know how to recognise ${org.implementation}'s record of this action in ${reader.where}: `
      + `a person must check that they show "${action.what}" with actor, subject and a time in ${window}`);
  }
  const since = new Date(action.started.getTime() - toleranceMs);
  const deadline = Date.now() + 3000; // the server may write the record a moment after answering
  for (;;) {
    const records = await reader.records(since);
    const found = records.find((r) => patterns.every((p) => p.test(r.text)));
    if (found) {
      s.note(`record of "${action.what}" (harness clock ${action.started.toISOString()}) in ${found.file}:\n[${found.stamp}] ${found.text}`);
      return found;
    }
    if (Date.now() > deadline) {
      const seen = records.filter((r) => r.time.getTime() <= action.ended.getTime() + toleranceMs).map((r) => `[${r.stamp}] ${r.text}`);
      s.note(`${reader.where}: records in ${window}:\n${seen.join('\n') || '(none)'}`);
      throw new ConformanceFailure(`${org.product} wrote no record of "${action.what}" (looked for ${patterns.map(String).join(' and ')} in ${window})`);
    }
    await sleep(250);
  }
}

/** AUD-TIME: the record's stamp is unambiguous and within the tolerance of the action by the harness clock. */
export function checkRecordTime(s: Session, record: LogRecord, action: Action): void {
  const from = action.started.getTime() - toleranceMs;
  const to = action.ended.getTime() + toleranceMs;
  s.note(`record stamp "${record.stamp}" read as ${record.time.toISOString()}; action by the harness clock ${action.started.toISOString()} – ${action.ended.toISOString()} (tolerance ${toleranceMs} ms)`);
  if (!record.zoned) throw new ConformanceFailure(`the record's timestamp "${record.stamp}" names no zone or offset: it is ambiguous`);
  if (record.time.getTime() < from || record.time.getTime() > to) {
    throw new ConformanceFailure(`the record's time ${record.time.toISOString()} is outside ${new Date(from).toISOString()} – ${new Date(to).toISOString()}`);
  }
}
