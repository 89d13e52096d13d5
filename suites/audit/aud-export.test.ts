import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';
import { evidenceReader, timed, toleranceMs } from '../../harness/audit/index.ts';
import { logFiles, timeOf, type LogFile } from '../../harness/audit/export.ts';
import { provisionAccount } from '../../harness/provisioning/index.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, NeedsReview, NotTestable } from '../../harness/verdict/failure.ts';

/**
 * AUD-EXPORT answers for the logging configuration the lab runs (README, "Audit"): the records it writes must be
 * machine-readable — JSON lines or syslog — so a central log management takes them in without a parser per product.
 */
describe('AUD-EXPORT: records are machine-readable for central log management', () => {
  scenario('after a login on org-a, the server\'s records of it are in a machine-readable log (JSON lines or syslog) in the lab\'s logging configuration', {
    requirements: ['AUD-EXPORT'],
    clause: {
      matrix: 'KS i.7.12 (requirement specification): log records can be sent to central log management. Synapse '
        + '"Structured logging" (synapse.logging.TerseJsonFormatter: one JSON object per line).',
      xmpp: 'KS i.7.12 (requirement specification): log records can be sent to central log management. Prosody '
        + '"Logging configuration": file, console and syslog sinks.',
    },
  }, async (s) => {
    const org = s.lab.organisations['org-a'];
    const reader = evidenceReader(org);
    if (!reader || !org.logDir) {
      throw new NeedsReview(`the harness has no evidence reader for ${org.implementation}: a person must check that its records can be written as JSON lines or syslog`);
    }
    const account = await provisionAccount(org, `audit${randomBytes(4).toString('hex')}`);
    const login = await timed(`successful login of ${account.address}`, () => s.login(account));
    const needle = org.protocol === 'matrix' ? account.address : account.address.split('/')[0]!;
    const files = logFiles(org.logDir);
    s.note(`log files in ${org.logDir} after a login at ${login.started.toISOString()}:\n${files.map((f) => `${f.file}: ${f.format}, ${f.lines.length} lines`).join('\n') || '(none)'}`);
    const readable = files.filter((f) => f.format !== 'text');
    // A line about the account written at or after the login (the stamp, where the format has one with a date).
    const after = (line: string, format: LogFile['format']): boolean => (timeOf(line, format)?.getTime() ?? Infinity) >= login.started.getTime() - toleranceMs;
    const record = readable.flatMap((f) => f.lines.filter((l) => l.includes(needle) && after(l, f.format)).map((line) => ({ file: f.file, format: f.format, line })))[0];
    if (record) {
      s.note(`machine-readable record of the login (${record.format}) in ${record.file}:\n${record.line}`);
      return;
    }
    if (readable.length === 0 && reader.exportRoute) throw new NotTestable(reader.exportRoute);
    const sample = files.map((f) => `${f.file}:\n${f.lines.slice(-3).join('\n')}`).join('\n');
    s.note(`the last lines of each file:\n${sample}`);
    throw new ConformanceFailure(readable.length
      ? `${org.product}'s machine-readable logs (${readable.map((f) => f.file).join(', ')}) hold no record of ${needle}'s login`
      : `${org.product} writes no machine-readable log in the lab's configuration: every log line is text in its own format`);
  });
});
