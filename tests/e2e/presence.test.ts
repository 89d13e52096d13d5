import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { answerOf, fedconf, labProcessesLeft, latestReport, statusesFor } from './cli.ts';

const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-presence-'));
/** The presence scenario, the concurrency scenario and the recipient-offline scenario. */
const tests = 'FED-PRESENCE|at the same time|logged out';

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

/** What each stock product answers; Dendrite's stock configuration federates no presence (a finding). */
const stock: Array<{ product: string; presence: 'Yes' | 'No' }> = [
  { product: 'synapse', presence: 'Yes' },
  { product: 'dendrite', presence: 'No' },
  { product: 'prosody', presence: 'Yes' },
  { product: 'ejabberd', presence: 'Yes' },
];

describe.each(stock)('presence, concurrent sending and offline delivery against stock $product', ({ product, presence }) => {
  it(`answers FED-ROOM, FED-INTEGRITY and FED-OFFLINE Yes, FED-PRESENCE ${presence}`, async () => {
    const result = await fedconf(['run', '--product', product, '-t', tests], reportsDir);
    const report = latestReport(reportsDir, product);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(report.totals.ERROR, JSON.stringify(report.tests.filter((t) => t.status === 'ERROR'), null, 2)).toBe(0);
    for (const id of ['FED-ROOM', 'FED-INTEGRITY', 'FED-OFFLINE']) expect(answerOf(report, id), `${id}\n${result.stderr}`).toBe('Yes');
    expect(answerOf(report, 'FED-PRESENCE'), result.stderr).toBe(presence);
    if (presence === 'No') expect(statusesFor(report, 'FED-PRESENCE')).toEqual(['FAILED']);
  });
});

/** Each negative control, the requirement it must break and the one scenario that shows it. */
const controls: Array<{ variant: string; breaks: string; test: string }> = [
  { variant: 'synapse-presence-off', breaks: 'FED-PRESENCE', test: 'FED-PRESENCE' },
  { variant: 'prosody-offline-off', breaks: 'FED-OFFLINE', test: 'logged out' },
  { variant: 'ejabberd-offline-off', breaks: 'FED-OFFLINE', test: 'logged out' },
];

describe.each(controls)('the negative control $variant', ({ variant, breaks, test }) => {
  it(`is caught: ${breaks} is No, its test FAILED (not ERROR)`, async () => {
    const result = await fedconf(['run', '--product', variant, '-t', test], reportsDir);
    const report = latestReport(reportsDir, variant);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(answerOf(report, breaks), `${breaks}\n${result.stderr}`).toBe('No');
    expect(statusesFor(report, breaks)).toEqual(['FAILED']);
    expect(report.product.variantOf).toBeDefined();
  });
});
