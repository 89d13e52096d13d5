import type { Level } from '../catalogue/catalogue.ts';

/**
 * Per test: PASSED · FAILED (the product does not do it) · ERROR (the harness could not decide) ·
 * SKIPPED-NA (the declaration says the feature is not offered) · REVIEW (evidence for a person) ·
 * NOT-RUN (the lab lacks what the scenario needs, e.g. a restart control; the reason is in the message).
 */
export type TestStatus = 'PASSED' | 'FAILED' | 'ERROR' | 'SKIPPED-NA' | 'REVIEW' | 'NOT-RUN';
export const testStatuses: readonly TestStatus[] = ['PASSED', 'FAILED', 'ERROR', 'SKIPPED-NA', 'REVIEW', 'NOT-RUN'];

export interface TestResult {
  /** Stable id: suite file and full test name. */
  id: string;
  name: string;
  file: string;
  requirements: string[];
  /** The specification clause the test relies on, quoted. */
  clause?: string;
  status: TestStatus;
  durationMs: number;
  /** Of durationMs, the time spent waiting on the servers. */
  serverWaitMs?: number;
  /** For FAILED / ERROR: what went wrong, in words. */
  message?: string;
  /** Evidence files, relative to the run folder. */
  evidence: string[];
}

export type Answer = 'Yes' | 'No' | 'Partial' | 'Not applicable' | 'Not tested';

export interface RequirementResult {
  id: string;
  level: Level;
  title: string;
  sources: string[];
  answer: Answer;
  /** Why this answer, in a sentence (always set for anything but a plain Yes). */
  reason: string;
  /** Ids of the tests behind the answer. */
  tests: string[];
}

export interface ProfileVerdict {
  id: string;
  title: string;
  verdict: 'CONFORMANT' | 'NOT CONFORMANT';
  /** The MUST rows that keep it from CONFORMANT, by answer. */
  mustNotYes: Array<{ id: string; answer: Answer }>;
  must: { total: number; yes: number };
  should: { total: number; yes: number; share: number };
}
