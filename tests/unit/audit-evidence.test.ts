import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogRecords, readStamp } from '../../harness/audit/evidence.ts';
import { parseProsodyLine } from '../../harness/audit/prosody.ts';
import { parseSynapseLine, synapseReader } from '../../harness/audit/synapse.ts';

describe('audit evidence: timestamps', () => {
  it('reads UTC and offset stamps as zoned, a stamp without zone as ambiguous', () => {
    expect(readStamp('2026-11-23T02:04:10+0000')).toEqual({ time: new Date('2026-11-23T02:04:10Z'), zoned: true });
    expect(readStamp('2026-11-23T03:04:10+01:00')).toEqual({ time: new Date('2026-11-23T02:04:10Z'), zoned: true });
    expect(readStamp('2026-11-23T02:04:10Z')?.zoned).toBe(true);
    expect(readStamp('2026-11-23 02:04:10,412')?.zoned).toBe(false);
    expect(readStamp('Nov 23 02:04:10')).toBeUndefined();
  });
});

describe('audit evidence: Synapse and Prosody log lines', () => {
  it('groups a Synapse request\'s lines into one record, so the access line and the handler\'s line read together', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconf-audit-'));
    writeFileSync(join(dir, 'homeserver.log'), [
      '2026-11-23T02:04:10+0000 - synapse.handlers.auth - 1435 - WARNING - POST-4 - Failed password login for user @a:org-a.test',
      '2026-11-23T02:04:10+0000 - synapse.access.http.8008 - 643 - INFO - POST-4 - 127.0.0.1 - 8008 - {None} Processed request: 403 "POST /_matrix/client/v3/login HTTP/1.1"',
      '2026-11-23T02:04:11+0000 - synapse.storage - 1 - INFO - - - unrelated',
    ].join('\n'));
    const records = readLogRecords(dir, parseSynapseLine, new Date('2026-11-23T02:04:00Z'));
    expect(records).toHaveLength(2);
    const marks = synapseReader(dir).marks.loginFailed('@a:org-a.test');
    expect(marks.every((m) => m.test(records[0]!.text))).toBe(true);
    expect(records[0]!.text).toContain('127.0.0.1');
  });

  it('reads Prosody\'s console lines by session', () => {
    expect(parseProsodyLine('2026-11-23T01:59:10Z c2s559bcd03fc80            info\tAuthenticated as a@org-a.test'))
      .toEqual({ stamp: '2026-11-23T01:59:10Z', group: 'c2s559bcd03fc80', text: 'info c2s559bcd03fc80: Authenticated as a@org-a.test' });
    expect(parseProsodyLine('2026-11-23 01:58:55 portmanager         info\tActivated service')?.group).toBe('-');
  });
});
