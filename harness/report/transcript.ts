/**
 * Turns a test's evidence file (written by harness/scenario/scenario.ts: a header, `== notes`, then one
 * `== <address>` section per client with timestamped SENT/RECV lines) into one timeline for the HTML
 * report, so a reader follows the exchange between the organisations in the order it happened.
 */

export interface TranscriptEntry {
  /** ISO timestamp, or '' for lines that carry none (notes, free text). */
  at: string;
  /** The participant whose client logged the line (an address), or 'note'. */
  who: string;
  /** NOTE / FAIL: something the client itself remarked (connection lost, closing; a call that failed). */
  direction: 'SENT' | 'RECV' | 'NOTE' | 'FAIL' | '';
  text: string;
}

export interface Transcript {
  /** The lines before the first `== ` section: title, requirements, clause. */
  header: string[];
  notes: string[];
  entries: TranscriptEntry[];
}

// Matrix driver: "SENT 2026-…Z rest"; XMPP driver: "2026-…Z SENT rest" (and NOTE); other lines: "2026-…Z rest".
const stamped = /^(?:(SENT|RECV|NOTE|FAIL) )?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (?:(SENT|RECV|NOTE|FAIL) )?(.*)$/s;

export function parseTranscript(text: string): Transcript {
  const header: string[] = [];
  const notes: string[] = [];
  const entries: TranscriptEntry[] = [];
  let section: string | undefined;
  let last: TranscriptEntry | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('== ')) {
      section = line.slice(3).trim();
      last = undefined;
      continue;
    }
    if (section === undefined) {
      if (line.trim()) header.push(line);
      continue;
    }
    if (!line.trim()) continue;
    if (section === 'notes') {
      notes.push(line);
      continue;
    }
    const match = stamped.exec(line);
    if (match) {
      last = { at: match[2]!, who: section, direction: (match[1] ?? match[3] ?? '') as TranscriptEntry['direction'], text: match[4]! };
      entries.push(last);
    } else if (last) {
      last.text += `\n${line}`;
    } else {
      last = { at: '', who: section, direction: '', text: line };
      entries.push(last);
    }
  }
  // Stable sort: lines without a time keep their place after the line before them.
  let previous = '';
  const keyed = entries.map((e, index) => ({ e, index, key: (previous = e.at || previous) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index));
  return { header, notes, entries: keyed.map((k) => k.e) };
}
