import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fedconf, labProcessesLeft, latestReport, startFedconf } from './cli.ts';

const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-lab-'));

describe('the native lab lifecycle', () => {
  it('lab up leaves three organisations running, lab status shows them, lab down leaves nothing', async () => {
    const up = await fedconf(['lab', 'up', '--product', 'prosody'], reportsDir);
    onTestFinished(async () => { await fedconf(['lab', 'down'], reportsDir); }); // a failed check must not leave the lab up
    expect(up.code, up.stderr).toBe(0);
    const description = JSON.parse(up.stdout) as { organisations: Record<string, { domain: string; version: string }> };
    expect(Object.keys(description.organisations)).toEqual(['org-a', 'org-b', 'org-c']);
    expect(description.organisations['org-b']?.domain).toBe('org-b.test');

    const status = await fedconf(['lab', 'status'], reportsDir);
    expect(status.stdout).toMatch(/lab running/);
    expect(status.stdout).toMatch(/org-c: prosody/);
    expect(labProcessesLeft().length).toBeGreaterThanOrEqual(4); // DNS + three servers

    const down = await fedconf(['lab', 'down'], reportsDir);
    expect(down.code, down.stderr).toBe(0);
    expect(labProcessesLeft()).toEqual([]);
    expect((await fedconf(['lab', 'status'], reportsDir)).stdout).toMatch(/no lab/);
  });

  it('Ctrl-C during a run stops the lab and keeps the results so far as an incomplete report', async () => {
    const child = startFedconf(['run', '--product', 'prosody', '--profile', 'federation'], reportsDir);
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the run never reached its scenarios:\n${stderr}`)), 120_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/PASSED|FAILED|ERROR/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(130);
    expect(labProcessesLeft()).toEqual([]);
    const report = latestReport(reportsDir, 'prosody');
    expect(report.run.status).toBe('incomplete');
    expect(report.tests.length).toBeGreaterThan(0);
  });

  it('bad input names the file and field before anything starts', async () => {
    const result = await fedconf(['run', '--product', 'synapse', '--profile', 'federaton'], reportsDir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown profile "federaton"/);
    expect(labProcessesLeft()).toEqual([]);
  });
});
