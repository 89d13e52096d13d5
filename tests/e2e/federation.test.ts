import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { answerOf, fedconf, labProcessesLeft, latestReport, statusesFor } from './cli.ts';

const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-'));

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

describe.each(['synapse', 'dendrite', 'prosody', 'ejabberd'])('the federation profile against stock %s on the native lab', (product) => {
  it('answers FED-DM, FED-ROOM and FED-INTEGRITY Yes, with the version the server reported', async () => {
    // The whole profile runs for every product in interop.test.ts (the X × X cells); here the three rows.
    const result = await fedconf(['run', '--product', product, '--profile', 'federation', '-t', 'FED-(DM|ROOM|INTEGRITY):'], reportsDir);
    const report = latestReport(reportsDir, product);
    expect(report.run.status, result.stderr).toBe('complete');
    expect(report.totals.ERROR, JSON.stringify(report.tests.filter((t) => t.status === 'ERROR'), null, 2)).toBe(0);
    for (const id of ['FED-DM', 'FED-ROOM', 'FED-INTEGRITY']) expect(answerOf(report, id), `${id}\n${result.stderr}`).toBe('Yes');
    expect(report.product.version).toMatch(/^\d+\.\d+/);
    expect(answerOf(report, 'FED-POLICY')).toBe('Not tested');
    expect(result.stdout).toMatch(/profile federation\s+NOT CONFORMANT/);
  });
});

describe.each(['synapse-federation-off', 'dendrite-federation-off', 'prosody-federation-off', 'ejabberd-federation-off'])('the negative control %s (federation switched off)', (variant) => {
  it('is caught: FED-DM and FED-ROOM are No, their tests FAILED (not ERROR)', async () => {
    const result = await fedconf(['run', '--product', variant, '--profile', 'federation', '-t', 'FED-(DM|ROOM):'], reportsDir);
    const report = latestReport(reportsDir, variant);
    expect(report.run.status, result.stderr).toBe('complete');
    for (const id of ['FED-DM', 'FED-ROOM']) {
      expect(answerOf(report, id), `${id}\n${result.stderr}`).toBe('No');
      expect(statusesFor(report, id)).not.toContain('ERROR');
      expect(statusesFor(report, id)).toContain('FAILED');
    }
    expect(report.product.variantOf).toBeDefined();
  });
});
