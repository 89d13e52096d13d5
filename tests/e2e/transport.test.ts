import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { answerOf, fedconf, labProcessesLeft, latestReport, statusesFor } from './cli.ts';

const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-transport-'));
const transportTests = 'FED-(TLS|DISCOVERY)';

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

describe.each(['synapse', 'dendrite', 'prosody', 'ejabberd'])('transport and discovery against stock %s on the native lab', (product) => {
  it('answers FED-DISCOVERY and FED-TLS Yes', async () => {
    const result = await fedconf(['run', '--product', product, '-t', transportTests], reportsDir);
    const report = latestReport(reportsDir, product);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(report.totals.ERROR, JSON.stringify(report.tests.filter((t) => t.status === 'ERROR'), null, 2)).toBe(0);
    for (const id of ['FED-DISCOVERY', 'FED-TLS']) expect(answerOf(report, id), `${id}\n${result.stderr}`).toBe('Yes');
  });
});

/** Each negative control and the requirement it must break. */
const controls: Array<{ variant: string; breaks: string; holds: string }> = [
  { variant: 'prosody-tls-legacy', breaks: 'FED-TLS', holds: 'FED-DISCOVERY' },
  { variant: 'prosody-s2s-plaintext', breaks: 'FED-TLS', holds: 'FED-DISCOVERY' },
  { variant: 'synapse-keys-expired', breaks: 'FED-DISCOVERY', holds: 'FED-TLS' },
  { variant: 'synapse-wellknown-wrong-port', breaks: 'FED-DISCOVERY', holds: 'FED-TLS' },
];

describe.each(controls)('the negative control $variant', ({ variant, breaks, holds }) => {
  it(`is caught: ${breaks} is No, its test FAILED (not ERROR), and the rest still holds`, async () => {
    const result = await fedconf(['run', '--product', variant, '-t', transportTests], reportsDir);
    const report = latestReport(reportsDir, variant);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(answerOf(report, breaks), `${breaks}\n${result.stderr}`).toBe('No');
    expect(statusesFor(report, breaks)).not.toContain('ERROR');
    expect(statusesFor(report, breaks)).toContain('FAILED');
    // The control breaks one thing only: the other requirement passing shows the failure is not the harness's.
    expect(answerOf(report, holds), `${holds}\n${result.stderr}`).toBe('Yes');
    expect(report.product.variantOf).toBeDefined();
  });
});
