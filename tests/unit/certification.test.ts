import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../harness/config/paths.ts';
import { InputError } from '../../harness/config/input-error.ts';
import { certificationRefusal, refuseUncertifiableOptions } from '../../harness/runner/certification.ts';
import type { TestResult } from '../../harness/verdict/model.ts';

async function collect(certify: boolean): Promise<TestResult[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(repoRoot, 'tests/fixtures/collector/run.ts'), ...(certify ? ['certify'] : [])], { cwd: repoRoot });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as TestResult[];
}

describe('certification mode', () => {
  it('refuses a test-name filter before anything starts', () => {
    expect(() => refuseUncertifiableOptions({ test: 'FED-DM' })).toThrow(InputError);
    expect(() => refuseUncertifiableOptions({})).not.toThrow();
  });

  it('names why a skipped, .todo or expected-failure scenario cannot count', () => {
    expect(certificationRefusal({ options: { mode: 'run', fails: true } }, 'passed')).toMatch(/expected failure/);
    expect(certificationRefusal({ options: { mode: 'skip' } }, 'skipped')).toMatch(/skipped/);
    expect(certificationRefusal({ options: { mode: 'todo' } }, 'skipped')).toMatch(/\.todo/);
    expect(certificationRefusal({ options: { mode: 'run' } }, 'skipped')).toMatch(/skipped/); // ctx.skip() at run time
    expect(certificationRefusal({ options: { mode: 'run', fails: false } }, 'failed')).toBeUndefined();
  });

  it('turns a real vitest run\'s .skip and .fails scenarios into ERROR, where a normal run leaves them out or passes them', async () => {
    const [normal, certified] = await Promise.all([collect(false), collect(true)]);
    const find = (results: TestResult[], name: string) => results.find((r) => r.name.endsWith(name));
    expect(find(normal, 'is skipped on purpose')).toBeUndefined();
    expect(find(normal, 'is marked as an expected failure')?.status).toBe('PASSED');
    expect(find(certified, 'is skipped on purpose')).toMatchObject({ status: 'ERROR', message: expect.stringMatching(/certification mode/) });
    expect(find(certified, 'is marked as an expected failure')).toMatchObject({ status: 'ERROR', message: expect.stringMatching(/expected failure/) });
    // Everything else is classified as in a normal run.
    expect(find(certified, 'passes')?.status).toBe('PASSED');
    expect(find(certified, 'meets a product that refuses')?.status).toBe('FAILED');
  });
});
