import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { answerOf, fedconf, labProcessesLeft, latestReport, statusesFor } from './cli.ts';

const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-media-'));

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

describe.each(['synapse', 'dendrite', 'prosody', 'ejabberd'])('files and profiles against stock %s on the native lab', (product) => {
  it('answers FED-FILE and FED-DIRECTORY Yes', async () => {
    const result = await fedconf(['run', '--product', product, '-t', 'FED-(FILE|DIRECTORY)'], reportsDir);
    const report = latestReport(reportsDir, product);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(report.totals.ERROR, JSON.stringify(report.tests.filter((t) => t.status === 'ERROR'), null, 2)).toBe(0);
    for (const id of ['FED-FILE', 'FED-DIRECTORY']) expect(answerOf(report, id), `${id}\n${result.stderr}`).toBe('Yes');
  });
});

/** Upload switched off: FED-FILE must be No with its test FAILED, not ERROR. */
describe.each(['synapse-upload-off', 'prosody-upload-off'])('the negative control %s', (variant) => {
  it('is caught: FED-FILE is No and its test FAILED (not ERROR)', async () => {
    const result = await fedconf(['run', '--product', variant, '-t', 'FED-FILE'], reportsDir);
    const report = latestReport(reportsDir, variant);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(answerOf(report, 'FED-FILE'), result.stderr).toBe('No');
    expect(statusesFor(report, 'FED-FILE')).not.toContain('ERROR');
    expect(statusesFor(report, 'FED-FILE')).toContain('FAILED');
    expect(report.product.variantOf).toBeDefined();
  });
});
