import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalogue, Profile } from '../catalogue/catalogue.ts';
import type { ProductDeclaration } from '../config/products.ts';
import type { Progress } from '../lab/native/adapter.ts';
import { nativeProvider } from '../lab/native/lab.ts';
import type { LabProvider, RunningLab } from '../lab/provider.ts';
import type { LabDescription } from '../lab/types.ts';
import { checkDeclaration } from '../declaration/check.ts';
import type { DeclarationCheck } from '../declaration/compare.ts';
import { buildReport } from '../report/build.ts';
import type { Report } from '../report/model.ts';
import { runDirectory, writeAll } from '../report/write.ts';
import { writeAnswerSheetXlsx } from '../report/answer-sheet.ts';
import type { TestResult } from '../verdict/model.ts';
import { serveLabControls } from '../lab/control-server.ts';
import { runScenarios } from './scenarios.ts';
import { onShutdown } from './shutdown.ts';
import { keepLogs, redactFile, redactFolder } from '../package/logs.ts';
import { describeRun, keepDeclarations, writeProvenance, type Shard } from '../package/provenance.ts';
import { Redactor, resolvableSecrets, secretRefsOf } from '../package/redact.ts';

export interface ProductRun {
  catalogue: Catalogue;
  profile: Profile;
  product: ProductDeclaration;
  /** The stock product that plays org-b and org-c (the federation peer and the outsider). */
  peer: ProductDeclaration;
  progress: Progress;
  /** Where the report goes; reports/<product>/<run-id>/ unless said otherwise. */
  dir?: string;
  /** Where the organisations come from; the native lab unless said otherwise. */
  provider?: LabProvider;
  /** Print one line per finished test. */
  onResult?: (result: TestResult) => void;
  testNamePattern?: string;
  /** Only this slice of the suite's files; `fedconf merge` joins the slices' reports. */
  shard?: Shard;
  /** Certification mode (harness/runner/certification.ts). */
  certify?: boolean;
  /** The external target declaration the lab came from, for provenance.json. */
  targetFile?: string;
}

export interface ProductRunOutcome {
  report: Report;
  dir: string;
  /** Where the wall time went, for the benchmark. */
  timings: { labUpMs: number; scenariosMs: number; labDownMs: number };
}

export function newRunId(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/**
 * One product, one profile: lab up, scenarios, reports, lab down. The report is rewritten after every
 * test, so whatever stops the run, reports/<product>/<run-id>/ holds the results it had.
 */
export async function runProduct(run: ProductRun): Promise<ProductRunOutcome> {
  const { catalogue, profile, product, peer, progress } = run;
  const runId = newRunId();
  const dir = run.dir ?? runDirectory(product.id, runId);
  mkdirSync(dir, { recursive: true });
  const startedAt = new Date();
  const tests: TestResult[] = [];
  let lab: LabDescription | undefined;
  let declarationCheck: DeclarationCheck | undefined;
  // Knows the lab's secrets by value once it is up; test messages, evidence and logs pass through it.
  let redactor = new Redactor();
  const report = (complete: boolean, note?: string, endedAt?: Date) =>
    buildReport({ catalogue, profile, product, ...(lab ? { lab } : {}), runId, startedAt, ...(endedAt ? { endedAt } : {}), complete, ...(note ? { note } : {}), tests, ...(declarationCheck ? { declarationCheck } : {}),
      ...(run.testNamePattern !== undefined ? { testFilter: run.testNamePattern } : {}) });
  const save = (complete: boolean, note?: string, endedAt?: Date): Report => {
    const r = report(complete, note, endedAt);
    writeAll(dir, r);
    return r;
  };

  save(false, 'the run is starting');
  writeProvenance(dir, describeRun({
    product: product.id, declarations: [product.file, peer.file], ...(run.targetFile ? { target: run.targetFile } : {}), profile: profile.id,
    ...(run.testNamePattern ? { testNamePattern: run.testNamePattern } : {}), ...(run.shard ? { shard: run.shard } : {}), certify: run.certify ?? false,
  }, new Redactor()));
  keepDeclarations(dir, [product.file, peer.file, ...(run.targetFile ? [run.targetFile] : [])]);
  let running: RunningLab | undefined;
  let controls: Awaited<ReturnType<typeof serveLabControls>> | undefined;
  let interrupted = true;
  const stop = async () => {
    await running?.down(progress);
    if (interrupted) await writeAnswerSheetXlsx(dir, save(false, 'the run was interrupted; results up to that point are kept', new Date()));
  };
  const forget = onShutdown(stop);
  const timings = { labUpMs: 0, scenariosMs: 0, labDownMs: 0 };
  let mark = performance.now();
  const lap = () => { const now = performance.now(); const ms = now - mark; mark = now; return ms; };
  try {
    running = await (run.provider ?? nativeProvider).up({ 'org-a': product, 'org-b': peer, 'org-c': peer }, progress);
    timings.labUpMs = lap();
    lab = running.description;
    redactor = new Redactor(resolvableSecrets(secretRefsOf(lab)));
    save(false, 'the run is in progress');
    progress(`checking the declaration of ${product.id} against what ${lab.organisations['org-a'].domain} shows`);
    declarationCheck = await checkDeclaration(product, lab, dir);
    save(false, 'the run is in progress');
    progress(`running the ${profile.id} scenarios against ${product.id} ${lab.organisations['org-a'].version}`);
    controls = running.control ? await serveLabControls(running, progress) : undefined;
    await runScenarios({
      lab, suites: profile.suites, runDir: dir, ...(run.testNamePattern ? { testNamePattern: run.testNamePattern } : {}),
      ...(run.shard ? { shard: run.shard } : {}), certify: run.certify ?? false,
      ...(controls ? { labControl: controls.endpoint } : {}),
      onResult: (raw) => {
        const result = raw.message === undefined ? raw : { ...raw, message: redactor.redact(raw.message) };
        for (const file of raw.evidence) redactFile(join(dir, file), redactor); // before the HTML report inlines it
        tests.push(result);
        save(false, 'the run is in progress');
        run.onResult?.(result);
      },
    });
    timings.scenariosMs = lap();
    interrupted = false;
  } catch (error) {
    interrupted = false;
    await writeAnswerSheetXlsx(dir, save(false, `the run stopped early: ${(error as Error).message}`, new Date()));
    throw error;
  } finally {
    forget();
    await controls?.close();
    lap();
    await running?.down(progress);
    timings.labDownMs = lap();
    // After the servers stopped (logs complete); the lab's secrets are still readable to redact them.
    if (running?.logs) keepLogs(dir, running.logs(), redactor);
    for (const folder of ['evidence', 'allure-results']) redactFolder(join(dir, folder), redactor);
  }
  const final = save(true, undefined, new Date());
  await writeAnswerSheetXlsx(dir, final);
  return { report: final, dir, timings };
}
