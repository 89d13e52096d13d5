import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getProfile, loadCatalogue } from '../../harness/catalogue/catalogue.ts';
import { loadProduct } from '../../harness/config/products.ts';
import { buildReport } from '../../harness/report/build.ts';
import { writeAll } from '../../harness/report/write.ts';
import type { TestResult } from '../../harness/verdict/model.ts';
import { answerRequirement } from '../../harness/verdict/verdict.ts';

const catalogue = loadCatalogue();
const tests: TestResult[] = [
  { id: 'a > dm', name: 'dm', file: 'suites/federation/fed-dm.test.ts', requirements: ['FED-DM'], status: 'PASSED', durationMs: 12, evidence: [] },
  { id: 'a > room', name: 'room <b>', file: 'suites/federation/fed-room.test.ts', requirements: ['FED-ROOM'], status: 'ERROR', durationMs: 5, message: 'TypeError: boom', evidence: [] },
  { id: 'a > integrity', name: 'integrity', file: 'suites/federation/fed-integrity.test.ts', requirements: ['FED-INTEGRITY'], status: 'FAILED', durationMs: 7, message: 'AssertionError: order', evidence: [] },
  { id: 'a > account', name: 'account record', file: 'suites/audit/aud-records.test.ts', requirements: ['AUD-ACCOUNT'], status: 'REVIEW', durationMs: 3,
    message: 'a person must check that they show "account created" with actor, subject and a time in 2026-11-23T04:00:00.000Z – 2026-11-23T04:00:04.000Z', evidence: [] },
];
const report = buildReport({
  catalogue, profile: getProfile(catalogue, 'federation'), product: loadProduct('synapse', catalogue),
  runId: 'r1', startedAt: new Date(0), endedAt: new Date(1000), complete: true, tests,
});

describe('the report of one product run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedconf-report-'));
  writeAll(dir, report); // validates report.json against reports/report.schema.json

  it('answers every catalogue row, and ERROR decides nothing', () => {
    expect(report.requirements).toHaveLength(catalogue.requirements.size);
    const answerOf = (id: string) => report.requirements.find((r) => r.id === id)?.answer;
    expect(answerOf('FED-DM')).toBe('Yes');
    expect(answerOf('FED-ROOM')).toBe('Not tested');
    expect(answerOf('FED-INTEGRITY')).toBe('No');
    expect(answerOf('GST-JOIN')).toBe('Not tested');
    expect(report.profiles[0]).toMatchObject({ id: 'federation', verdict: 'NOT CONFORMANT' });
  });

  it('writes a standalone HTML page with every requirement row and nothing to fetch', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    for (const id of catalogue.requirements.keys()) expect(html).toContain(`id="req-${id}"`);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i);
    expect(html).toContain('room &lt;b&gt;');
  });

  it('lists what a person must review, with the reason and the action\'s times, before the requirement rows', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    const list = html.slice(html.indexOf('id="to-review"'), html.indexOf('Requirements by profile'));
    expect(list).toContain('AUD-ACCOUNT');
    expect(list).toContain('account record');
    expect(list).toContain('2026-11-23T04:00:00.000Z – 2026-11-23T04:00:04.000Z');
    // The requirement's reason (what the answer sheets show) says what to check too.
    const review = tests.filter((t) => t.status === 'REVIEW');
    expect(answerRequirement(catalogue.requirements.get('AUD-ACCOUNT')!, loadProduct('synapse', catalogue), review).reason)
      .toContain('with actor, subject and a time in 2026-11-23T04:00:00.000Z');
  });

  it('writes JUnit with ERROR as <error>, never as <failure>', () => {
    const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(xml).toMatch(/<error message="TypeError: boom"/);
    expect(xml).toMatch(/<failure message="AssertionError: order"/);
    expect(xml).toContain('errors="1"');
  });
});
