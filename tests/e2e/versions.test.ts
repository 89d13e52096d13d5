import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { answerOf, fedconf, labProcessesLeft, latestReport } from './cli.ts';

const older = '1.150.0';

describe(`an older server version: synapse@${older}`, () => {
  it('is installed beside the default one, run, and its report states that version', async () => {
    const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-version-'));
    const result = await fedconf(['run', '--product', `synapse@${older}`, '-t', 'FED-DM'], reportsDir);
    expect(result.code, result.stderr).toBe(0);
    const report = latestReport(reportsDir, `synapse@${older}`);
    expect(report.product.version).toBe(older);
    expect(report.peers[0]?.version).toBe(older);
    expect(answerOf(report, 'FED-DM')).toBe('Yes');
    expect(labProcessesLeft()).toEqual([]);

    // The CI-regression use: the same scenarios against the default version, compared with `fedconf diff`.
    const newer = await fedconf(['run', '--product', 'synapse', '-t', 'FED-DM'], reportsDir);
    expect(newer.code, newer.stderr).toBe(0);
    const runOf = (product: string) => join(reportsDir, product, readdirSync(join(reportsDir, product)).sort().at(-1)!);
    const diff = await fedconf(['diff', runOf(`synapse@${older}`), runOf('synapse'), '--json'], reportsDir);
    expect(diff.code, diff.stdout + diff.stderr).toBe(0);
    expect((JSON.parse(diff.stdout) as { regression: boolean }).regression).toBe(false);
  });

  it('is refused with a clear message for a product whose source has one version', async () => {
    const result = await fedconf(['run', '--product', 'prosody@0.11.0'], mkdtempSync(join(tmpdir(), 'fedconf-version-')));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/prosody@0\.11\.0: no other version can be installed here/);
    expect(labProcessesLeft()).toEqual([]);
  });
});
