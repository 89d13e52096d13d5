import { relative } from 'node:path';
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { repoRoot } from '../config/paths.ts';
import type { TestResult } from '../verdict/model.ts';
import { productFailureNames } from '../verdict/failure.ts';
import { certificationRefusal } from './certification.ts';
import '../scenario/context.ts';

interface ErrorLike { name?: string; message?: string; stack?: string }

/** FAILED only when the product answered wrongly; anything else that broke is the harness's ERROR. */
export function classify(errors: readonly ErrorLike[]): 'FAILED' | 'ERROR' | 'NOT-RUN' | 'REVIEW' {
  const first = errors[0];
  if (first?.name === 'NotTestable') return 'NOT-RUN';
  if (first?.name === 'NeedsReview') return 'REVIEW';
  return first && productFailureNames.has(first.name ?? '') ? 'FAILED' : 'ERROR';
}

function describeErrors(errors: readonly ErrorLike[], status: 'FAILED' | 'ERROR' | 'NOT-RUN' | 'REVIEW'): string {
  if (status === 'NOT-RUN' || status === 'REVIEW') return errors[0]?.message ?? '';
  return errors.map((e) => {
    const head = `${e.name ?? 'Error'}: ${e.message ?? ''}`;
    // For ERROR the stack helps the maintainer; for FAILED the message is the finding.
    return status === 'ERROR' && e.stack ? `${head}\n${e.stack.split('\n').slice(1, 6).join('\n')}` : head;
  }).join('\n\n');
}

/**
 * A vitest reporter that turns each finished test into a TestResult as soon as it ends
 * (so a crash later still leaves it), including tests that never ran because a hook or the file failed.
 */
export class ResultCollector implements Reporter {
  private readonly seen = new Set<string>();

  /** `certify`: a skipped, .todo or .fails scenario is an ERROR, not silently left out (see certification.ts). */
  constructor(private readonly onResult: (result: TestResult) => void, private readonly certify = false) {}

  onTestCaseResult(testCase: TestCase): void {
    if (!this.seen.has(testCase.id)) this.recordOutcome(testCase);
  }

  /** Records a finished test; false when it has no outcome (still pending, or skipped on purpose). */
  private recordOutcome(testCase: TestCase): boolean {
    const result = testCase.result();
    const refusal = this.certify && result.state !== 'pending' ? certificationRefusal(testCase, result.state) : undefined;
    if (refusal) {
      this.record(testCase, 'ERROR', refusal);
      return true;
    }
    if (result.state === 'pending' || result.state === 'skipped') return false; // a skipped test evidences nothing
    const errors: readonly ErrorLike[] = result.errors ?? [];
    const status = result.state === 'passed' ? 'PASSED' : classify(errors);
    this.record(testCase, status, status === 'PASSED' ? undefined : describeErrors(errors, status));
    return true;
  }

  onTestModuleEnd(testModule: TestModule): void {
    const moduleErrors: readonly ErrorLike[] = testModule.errors();
    const file = relative(repoRoot, testModule.moduleId);
    let any = false;
    for (const testCase of testModule.children.allTests()) {
      any = true;
      if (this.seen.has(testCase.id)) continue;
      // Left out on purpose (a name filter, .skip, .todo): evidences nothing, and is no error either.
      if (testCase.options.mode === 'skip' || testCase.options.mode === 'todo') {
        if (this.certify) this.record(testCase, 'ERROR', certificationRefusal(testCase, 'skipped'));
        continue;
      }
      // Its result may reach us only now (reporter events are not strictly ordered): use it, once.
      if (this.recordOutcome(testCase)) continue;
      // Never ran: a beforeAll failed or the run was cut short. The harness could not decide.
      const why = moduleErrors.length ? describeErrors(moduleErrors, 'ERROR') : 'the test did not run (a hook failed or the run was interrupted)';
      this.record(testCase, 'ERROR', why);
    }
    if (!any && moduleErrors.length) {
      this.onResult({ id: `${file} > (load)`, name: `${file} could not be loaded`, file, requirements: [], status: 'ERROR', durationMs: 0,
        message: describeErrors(moduleErrors, 'ERROR'), evidence: [] });
    }
  }

  private record(testCase: TestCase, status: TestResult['status'], message?: string): void {
    this.seen.add(testCase.id);
    const meta = testCase.meta();
    const file = relative(repoRoot, testCase.module.moduleId);
    this.onResult({
      id: `${file} > ${testCase.fullName}`,
      name: testCase.fullName,
      file,
      requirements: meta.requirements ?? [],
      ...(meta.clause ? { clause: meta.clause } : {}),
      status,
      durationMs: testCase.diagnostic()?.duration ?? 0,
      ...(meta.serverWaitMs !== undefined ? { serverWaitMs: meta.serverWaitMs } : {}),
      ...(message ? { message } : {}),
      evidence: meta.evidence ?? [],
    });
  }
}
