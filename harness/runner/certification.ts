import { InputError } from '../config/input-error.ts';

/**
 * Certification mode (`fedconf run --certify`): a run whose report is handed over as evidence. The
 * suite has no expected-failure lists of its own; what could hide a result is (a) leaving tests out
 * by name (`-t`), (b) a scenario marked `.skip` / `.todo` or skipped at run time, and (c) vitest's
 * expected-failure marker `.fails`, which turns a failure into a pass. The only skips a certification
 * run accepts are the ones the product declaration justifies: `claims.notApplicable` (with its
 * justification) and `claims.unsupported`, which the verdict already applies per requirement.
 * Shards (`--shard i/N`) are allowed: `fedconf merge` refuses an incomplete set.
 */
export function refuseUncertifiableOptions(options: { test?: string }): void {
  if (options.test) {
    throw new InputError('command line', [`--certify runs every test of the profile; -t "${options.test}" would leave tests out that no declaration justifies`],
      'Drop -t, or drop --certify for a partial run. To leave a requirement out, declare it in claims.notApplicable with a justification.');
  }
}

export interface TestCaseShape {
  options: { mode: 'run' | 'only' | 'skip' | 'todo'; fails?: boolean | undefined };
}

/** Why a test cannot count in a certification run, or undefined when it can. */
export function certificationRefusal(testCase: TestCaseShape, state: 'passed' | 'failed' | 'skipped' | 'pending'): string | undefined {
  if (testCase.options.fails) return 'certification mode: the scenario is marked .fails (an expected failure), which turns a failure into a pass';
  if (testCase.options.mode === 'skip' || testCase.options.mode === 'todo' || state === 'skipped') {
    return `certification mode: the scenario was ${testCase.options.mode === 'todo' ? 'marked .todo' : 'skipped'} in the suite, which no product declaration justifies`;
  }
  return undefined;
}
