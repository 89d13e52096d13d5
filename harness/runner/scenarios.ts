import { join } from 'node:path';
import { startVitest } from 'vitest/node';
import { repoRoot } from '../config/paths.ts';
import type { ControlEndpoint } from '../lab/control-server.ts';
import type { LabDescription } from '../lab/types.ts';
import type { TestResult } from '../verdict/model.ts';
import { ResultCollector } from './collector.ts';
import type { Shard } from '../package/provenance.ts';

export interface ScenarioRun {
  lab: LabDescription;
  /** Folders under suites/ to run. */
  suites: string[];
  runDir: string;
  onResult: (result: TestResult) => void;
  /** Only tests whose name matches (vitest -t). */
  testNamePattern?: string;
  /** Where scenarios reach the lab's lifecycle controls, if it has any. */
  labControl?: ControlEndpoint;
  /** Run only this slice of the test files (vitest's shard: files sorted by a hash of their path). */
  shard?: Shard;
  /** Certification mode: skipped / .todo / .fails scenarios become ERROR (harness/runner/certification.ts). */
  certify?: boolean;
}

/**
 * Runs the scenario files with vitest's Node API, handing them the lab through provide/inject.
 * Files run one after another: they share the lab's servers and this machine has two cores.
 */
export async function runScenarios(run: ScenarioRun): Promise<void> {
  const include = run.suites.map((s) => `suites/${s}/**/*.test.ts`);
  if (include.length === 0) return;
  const vitest = await startVitest('test', [], {
    root: repoRoot,
    config: false,
    include,
    watch: false,
    passWithNoTests: true,
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
    ...(run.testNamePattern ? { testNamePattern: run.testNamePattern } : {}),
    ...(run.shard ? { shard: `${run.shard.index}/${run.shard.count}` } : {}),
    provide: { lab: run.lab, evidenceDir: join(run.runDir, 'evidence'), ...(run.labControl ? { labControl: run.labControl } : {}) },
    reporters: [new ResultCollector(run.onResult, run.certify), ['allure-vitest/reporter', { resultsDir: join(run.runDir, 'allure-results') }]],
  });
  await vitest.close();
}
