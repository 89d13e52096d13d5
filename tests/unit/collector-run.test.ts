import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../harness/config/paths.ts';
import type { TestResult } from '../../harness/verdict/model.ts';

let results: TestResult[] = [];
const statusOf = (name: string) => results.find((r) => r.name.endsWith(name))?.status;

describe('the result collector, fed by a real vitest run', () => {
  beforeAll(async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(repoRoot, 'tests/fixtures/collector/run.ts')], { cwd: repoRoot });
    results = JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as TestResult[];
  });

  it('reports a pass as PASSED with its requirement ids', () => {
    expect(results.find((r) => r.name === 'passes')).toMatchObject({ status: 'PASSED', requirements: ['FED-DM'] });
  });
  it('reports a product refusal and a wrong answer as FAILED', () => {
    expect(statusOf('meets a product that refuses')).toBe('FAILED');
    expect(statusOf('meets a product that answers wrongly')).toBe('FAILED');
  });
  it('reports a harness bug as ERROR, never FAILED', () => {
    expect(statusOf('meets a harness bug')).toBe('ERROR');
  });
  it('reports tests whose set-up broke as ERROR, with the reason', () => {
    const never = results.find((r) => r.name.endsWith('never runs'));
    expect(never?.status).toBe('ERROR');
    expect(never?.message).toMatch(/could not provision users|did not run/);
  });
  it('leaves out tests skipped on purpose', () => {
    expect(statusOf('is skipped on purpose')).toBeUndefined();
  });
});
