import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { declaredReader } from '../../harness/audit/declared.ts';
import { dendriteReader, parseDendriteLine } from '../../harness/audit/dendrite.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LabDescription, OrganisationDescription } from '../../harness/lab/types.ts';
import { secretRefsOf } from '../../harness/package/redact.ts';
import { ejabberdReader } from '../../harness/audit/ejabberd.ts';
import { readLogRecords, readStamp } from '../../harness/audit/evidence.ts';
import { formatOf, timeOf } from '../../harness/audit/export.ts';
import { findRecord } from '../../harness/audit/index.ts';
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

describe('audit evidence: Dendrite and ejabberd log lines (as the lab\'s servers wrote them)', () => {
  it('reads Dendrite\'s logrus lines by request id, nanosecond stamps included', async () => {
    const line = 'time="2026-11-23T03:59:56.849428637Z" level=info msg=PerformDeviceCreation device_id="<nil>" localpart=audit7ca1b4e8 req.id=7X0FIBN3346N req.method=POST req.path=/_matrix/client/v3/login';
    expect(parseDendriteLine(line)?.group).toBe('7X0FIBN3346N');
    expect(readStamp('2026-11-23T03:59:56.849428637Z')?.time).toEqual(new Date('2026-11-23T03:59:56.849Z'));
    const dir = mkdtempSync(join(tmpdir(), 'fedconf-audit-'));
    writeFileSync(join(dir, 'dendrite.log'), `${line}\n2026/11/23 03:59:57 http: TLS handshake error from 127.0.0.1:32842: EOF\n`);
    const [record] = await dendriteReader(dir).records(new Date('2026-11-23T03:59:50Z'));
    expect(dendriteReader(dir).marks.loginSucceeded('@audit7ca1b4e8:org-a.test').every((m) => m.test(record!.text))).toBe(true);
    expect(dendriteReader(dir).marks.loginSucceeded('@audit7ca1b4:org-a.test').every((m) => m.test(record!.text))).toBe(false);
  });

  it('reads ejabberd\'s own log (logs/), an Erlang term continued on the next lines belonging to its line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconf-audit-'));
    const lines = [
      '2026-11-23 04:00:30.835879+00:00 [warning] <0.761.0>@ejabberd_c2s:process_auth_result/3:280 (tls|<0.761.0>) Failed c2s PLAIN authentication for audit6e616e65@org-a.test from 127.0.0.1: Invalid username or password',
      '2026-11-23 04:00:32.112858+00:00 [info] <0.774.0>@mod_muc_room:process_admin_items_set/4:2995 Processing MUC admin query from alice-3a9228@org-a.test/fedconf-552a963a in room audit-privileges@conference.org-a.test:',
      ' [{{jid,<<"bob-52f05d">>,<<"org-a.test">>,<<>>,<<"bob-52f05d">>,',
      '        <<"org-a.test">>,<<>>},',
      '   affiliation,admin,<<>>}]',
    ];
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'ejabberd.log'), lines.join('\n'));
    writeFileSync(join(dir, 'ejabberd.log'), lines.join('\n')); // the lab's copy of standard output: not read
    const reader = ejabberdReader(dir);
    const records = await reader.records(new Date('2026-11-23T04:00:00Z'));
    expect(records).toHaveLength(2);
    expect(reader.marks.loginFailed('audit6e616e65@org-a.test').every((m) => m.test(records[0]!.text))).toBe(true);
    expect(reader.marks.privilegeChanged('alice-3a9228@org-a.test', 'bob-52f05d@org-a.test', 'audit-privileges@conference.org-a.test')
      .every((m) => m.test(records[1]!.text))).toBe(true);
  });
});

describe('audit evidence: a record source a declaration names (logs.source)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedconf-audit-'));
  writeFileSync(join(dir, 'vendor.log'), [
    '2026-11-23T04:00:30Z WARN login refused for a@org-a.test from 10.0.0.5',
    '2026-11-23T04:00:31Z INFO login accepted for a@org-a.test from 10.0.0.5',
    '  (a continuation line)',
  ].join('\n'));
  const org = { product: 'vendor-x', logDir: dir } as OrganisationDescription;

  it('reads a file, one record per stamped line, and finds a login by plain text with the outcome word', async () => {
    const reader = declaredReader({ file: 'vendor.log', declaredIn: '/nowhere' }, org);
    const records = await reader.records(new Date('2026-11-23T04:00:00Z'));
    expect(records.map((r) => r.time.toISOString())).toEqual(['2026-11-23T04:00:30.000Z', '2026-11-23T04:00:31.000Z']);
    expect(records[1]!.text).toContain('continuation');
    const hit = (marks: RegExp[]) => records.filter((r) => marks.every((m) => m.test(r.text))).map((r) => r.stamp);
    expect(hit(reader.marks.loginFailed('a@org-a.test'))).toEqual(['2026-11-23T04:00:30Z']);
    expect(hit(reader.marks.loginSucceeded('a@org-a.test'))).toEqual(['2026-11-23T04:00:31Z']);
    expect(hit(reader.marks.loginSucceeded('b@org-a.test'))).toEqual([]);
  });

  it('uses the declared marks with their placeholders, and a command as the source', async () => {
    const reader = declaredReader({ command: ['cat', join(dir, 'vendor.log')], marks: { loginFailed: ['(?i)REFUSED for {address}'] }, declaredIn: dir }, org);
    const records = await reader.records(new Date('2026-11-23T04:00:00Z'));
    expect(reader.marks.loginFailed('a@org-a.test').every((m) => m.test(records[0]!.text))).toBe(true);
    expect(reader.where).toContain('cat ');
  });

  it('fetches an endpoint with the bearer token of an env: reference, names it by the reference only, and the run redacts it', async () => {
    process.env.FEDCONF_TEST_AUDIT_TOKEN = 'tok-3f9a1c';
    let asked = '';
    const server = createServer((req, res) => {
      asked = req.url ?? '';
      if (req.headers.authorization !== 'Bearer tok-3f9a1c') { res.writeHead(401).end(); return; }
      res.end(readFileSync(join(dir, 'vendor.log')));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/records?since={since}`;
      const source = { url, token: { env: 'FEDCONF_TEST_AUDIT_TOKEN' }, declaredIn: dir };
      const reader = declaredReader(source, org);
      expect(await reader.records(new Date('2026-11-23T04:00:00Z'))).toHaveLength(2);
      expect(asked).toBe('/records?since=2026-11-23T04%3A00%3A00.000Z');
      expect(reader.where).toContain('env:FEDCONF_TEST_AUDIT_TOKEN');
      expect(reader.where).not.toContain('tok-3f9a1c');
      const lab = { organisations: { 'org-a': { ...org, provisioning: { method: 'prosodyctl' }, recordSource: source } } } as unknown as LabDescription;
      expect(secretRefsOf(lab)).toEqual([{ env: 'FEDCONF_TEST_AUDIT_TOKEN' }]);
    } finally {
      server.close();
      delete process.env.FEDCONF_TEST_AUDIT_TOKEN;
    }
  });
});

describe('audit evidence: ejabberd room destruction and federation lines', () => {
  it('recognises the owner destroying a room and the authenticated s2s streams, by peer and direction', () => {
    const { roomShutDown, federationInbound, federationOutbound } = ejabberdReader('/nowhere').marks;
    const destroyed = 'info <0.747.0>@mod_muc_room:process_iq_owner/3:3480 Destroyed MUC room audit-shutdown@conference.org-a.test by the owner alice-a3148d@org-a.test/fedconf-cd9d15a5';
    expect(roomShutDown!('alice-a3148d@org-a.test', 'audit-shutdown@conference.org-a.test').every((m) => m.test(destroyed))).toBe(true);
    expect(roomShutDown!('bob@org-a.test', 'audit-shutdown@conference.org-a.test').every((m) => m.test(destroyed))).toBe(false);
    const inbound = 'info <0.603.0>@ejabberd_s2s_in:handle_auth_success/4:183 (tls|<0.603.0>) Accepted inbound s2s EXTERNAL authentication org-b.test -> org-a.test (127.0.0.1)';
    const outbound = 'info <0.602.0>@ejabberd_s2s_out:handle_auth_success/2:223 (tls|<0.602.0>) Accepted outbound s2s EXTERNAL authentication org-a.test -> org-b.test (127.77.9.12)';
    expect([inbound, outbound].map((l) => federationInbound!('org-b.test').every((m) => m.test(l)))).toEqual([true, false]);
    expect([inbound, outbound].map((l) => federationOutbound!('org-b.test').every((m) => m.test(l)))).toEqual([false, true]);
  });
});
