import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogRecords, readStamp } from '../../harness/audit/evidence.ts';
import { formatOf, timeOf } from '../../harness/audit/export.ts';
import { findRecord } from '../../harness/audit/index.ts';
import type { OrganisationDescription } from '../../harness/lab/types.ts';
import type { Session } from '../../harness/scenario/scenario.ts';
import { NeedsReview } from '../../harness/verdict/failure.ts';
import { parseProsodyLine, prosodyReader } from '../../harness/audit/prosody.ts';
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

  it('starts new records after a server start, whose request ids begin again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconf-audit-'));
    writeFileSync(join(dir, 'homeserver.log'), [
      '2026-11-23T02:04:10+0000 - synapse.access.http.8008 - 643 - INFO - POST-3 - 127.0.0.1 - 8008 - {None} Processed request: 200 "POST /_matrix/client/v3/login HTTP/1.1"',
      '2026-11-23T02:04:20+0000 - synapse.config.logger - 377 - WARNING - main - ***** STARTING SERVER *****',
      '2026-11-23T02:04:30+0000 - synapse.handlers.auth - 1435 - WARNING - POST-3 - Failed password login for user @a:org-a.test',
    ].join('\n'));
    const records = readLogRecords(dir, parseSynapseLine, new Date('2026-11-23T02:04:25Z'));
    expect(records.map((r) => r.text)).toEqual(['WARNING synapse.handlers.auth: Failed password login for user @a:org-a.test']);
  });

  it('reads Prosody\'s console lines by session', () => {
    expect(parseProsodyLine('2026-11-23T01:59:10Z c2s559bcd03fc80            info\tAuthenticated as a@org-a.test'))
      .toEqual({ stamp: '2026-11-23T01:59:10Z', group: 'c2s559bcd03fc80', text: 'info c2s559bcd03fc80: Authenticated as a@org-a.test' });
    expect(parseProsodyLine('2026-11-23 01:58:55 portmanager         info\tActivated service')?.group).toBe('-');
  });
});

describe('audit evidence: federation records', () => {
  const synapseLines = [
    '2026-11-23T04:05:35+0000 - synapse.federation.transport.server._base - 323 - WARNING - PUT-26 - authenticate_request failed: 403: Federation denied with org-c.test.',
    '2026-11-23T04:05:35+0000 - synapse.http.server - 132 - INFO - PUT-26 - <SynapseRequest method=\'PUT\'> SynapseError: 403 - Federation denied with org-c.test.',
    '2026-11-23T04:05:36+0000 - synapse.handlers.room_member - 867 - INFO - POST-27 - Failed to get profile information for @c:org-c.test: 403: Federation denied with org-c.test.',
  ];

  it('tells Synapse\'s refusal of an inbound request from its refusal to send one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconf-audit-'));
    writeFileSync(join(dir, 'homeserver.log'), synapseLines.join('\n'));
    const [inbound, outbound] = readLogRecords(dir, parseSynapseLine, new Date('2026-11-23T04:05:00Z'));
    const { federationRefused } = synapseReader(dir).marks;
    const matches = (direction: 'in' | 'out', text: string) => federationRefused!('org-c.test', direction).every((m) => m.test(text));
    expect([matches('in', inbound!.text), matches('out', inbound!.text)]).toEqual([true, false]);
    expect([matches('in', outbound!.text), matches('out', outbound!.text)]).toEqual([false, true]);
  });

  it('reads Prosody\'s s2s lines by direction and peer', () => {
    const { federationInbound, federationOutbound } = prosodyReader('/nowhere').marks;
    expect(federationInbound!('org-b.test').every((m) => m.test('info s2sin55: Incoming s2s connection org-b.test->org-a.test complete'))).toBe(true);
    expect(federationOutbound!('org-b.test').every((m) => m.test('info s2sin55: Incoming s2s connection org-b.test->org-a.test complete'))).toBe(false);
    expect(federationOutbound!('org-b.test').every((m) => m.test('info s2sout9: Outgoing s2s connection org-a.test->org-b.test complete'))).toBe(true);
  });
});

describe('audit export: machine-readable log formats', () => {
  it('knows JSON lines with a timestamp and syslog lines from text', () => {
    expect(formatOf(['{"log":"Processed request","time":1795000000.1,"level":"INFO"}'])).toBe('JSON lines');
    expect(formatOf(['{"log":"no stamp"}'])).toBe('text');
    expect(formatOf(['<134>1 2026-11-23T04:05:35Z host prosody 42 - - Authenticated as a@org-a.test'])).toBe('syslog (RFC 5424)');
    expect(formatOf(['<134>Nov 23 04:05:35 host prosody[42]: Authenticated as a@org-a.test'])).toBe('syslog (RFC 3164)');
    expect(formatOf(['2026-11-23T04:05:35Z c2s55 info\tAuthenticated as a@org-a.test'])).toBe('text');
    expect(timeOf('{"log":"x","time":1795407065.97}', 'JSON lines')).toEqual(new Date(1795407065970));
    expect(timeOf('<134>1 2026-11-23T04:05:35Z host prosody 42 - - x', 'syslog (RFC 5424)')).toEqual(new Date('2026-11-23T04:05:35Z'));
  });
});

describe('audit records: a reader without the mark', () => {
  it('answers REVIEW (the harness cannot recognise that record), not FAILED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconf-audit-'));
    const org = { implementation: 'synapse', product: 'synapse', logDir: dir } as unknown as OrganisationDescription;
    const session = { note: () => undefined } as unknown as Session;
    const action = { what: 'a room shut down', started: new Date(), ended: new Date() };
    await expect(findRecord(session, org, action, () => undefined)).rejects.toBeInstanceOf(NeedsReview);
  });
});
