import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { answerOf, fedconf, labProcessesLeft, latestReport, statusesFor } from './cli.ts';

const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-guest-'));
const guestTests = 'GST-(JOIN|SCOPE|LIMITS|HISTORY|DISABLE)';
/** What the lab's stock products answer; ejabberd 23.01's rooms cannot keep history from newcomers (no history setting per room). */
const expected: Record<string, Record<string, 'Yes' | 'No'>> = {
  synapse: { 'GST-JOIN': 'Yes', 'GST-SCOPE': 'Yes', 'GST-LIMITS': 'Yes', 'GST-HISTORY': 'Yes', 'GST-DISABLE': 'Yes' },
  prosody: { 'GST-JOIN': 'Yes', 'GST-SCOPE': 'Yes', 'GST-LIMITS': 'Yes', 'GST-HISTORY': 'Yes', 'GST-DISABLE': 'Yes' },
  ejabberd: { 'GST-JOIN': 'Yes', 'GST-SCOPE': 'Yes', 'GST-LIMITS': 'Yes', 'GST-HISTORY': 'No', 'GST-DISABLE': 'Yes' },
};

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

describe.each(['synapse', 'prosody', 'ejabberd'])('guest access on stock %s in the lab\'s guest-enabled deployment', (product) => {
  it('answers every guest row it can run, with no ERROR', async () => {
    const result = await fedconf(['run', '--product', product, '--profile', 'guest-access', '-t', guestTests], reportsDir);
    const report = latestReport(reportsDir, product);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(report.totals.ERROR, JSON.stringify(report.tests.filter((t) => t.status === 'ERROR'), null, 2)).toBe(0);
    for (const [id, answer] of Object.entries(expected[product]!)) expect(answerOf(report, id), `${id}\n${result.stdout.slice(-3000)}`).toBe(answer);
  });
});

describe('guest access on stock dendrite', () => {
  it('answers GST-JOIN No (guest registration refused: Dendrite admits guests only with open registration) and runs nothing that needs a guest', async () => {
    const result = await fedconf(['run', '--product', 'dendrite', '--profile', 'guest-access', '-t', guestTests], reportsDir);
    const report = latestReport(reportsDir, 'dendrite');
    expect(report.run.status, result.stderr).toBe('complete');
    expect(answerOf(report, 'GST-JOIN')).toBe('No');
    expect(statusesFor(report, 'GST-JOIN')).toEqual(['FAILED']);
    for (const id of ['GST-SCOPE', 'GST-LIMITS', 'GST-HISTORY', 'GST-DISABLE']) expect(statusesFor(report, id), id).toEqual(['NOT-RUN']);
  });
});

/** Each negative control and the requirement it must break. */
const controls = [
  { variant: 'synapse-guests-off', breaks: 'GST-JOIN' },
  { variant: 'prosody-guests-off', breaks: 'GST-JOIN' },
  { variant: 'synapse-guests-always-on', breaks: 'GST-DISABLE' },
  { variant: 'prosody-guests-always-on', breaks: 'GST-DISABLE' },
];

describe.each(controls)('the negative control $variant', ({ variant, breaks }) => {
  it(`is caught: ${breaks} is No, its test FAILED (not ERROR)`, async () => {
    const result = await fedconf(['run', '--product', variant, '--profile', 'guest-access', '-t', `${breaks}:`], reportsDir);
    const report = latestReport(reportsDir, variant);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(answerOf(report, breaks), `${breaks}\n${result.stdout.slice(-3000)}`).toBe('No');
    expect(statusesFor(report, breaks)).toEqual(['FAILED']);
    expect(report.product.variantOf).toBeDefined();
  });
});
