import { join } from 'node:path';
import type { Catalogue, Profile } from '../catalogue/catalogue.ts';
import { reportsDir } from '../config/paths.ts';
import type { ProductDeclaration } from '../config/products.ts';
import type { Progress } from '../lab/native/adapter.ts';
import type { LabProvider } from '../lab/provider.ts';
import type { InteropCell, InteropMatrix } from '../report/interop.ts';
import { writeInteropMatrix } from '../report/interop.ts';
import type { TestResult } from '../verdict/model.ts';
import { newRunId, runProduct } from './run-product.ts';

export interface InteropRun {
  catalogue: Catalogue;
  profile: Profile;
  protocol: 'matrix' | 'xmpp';
  /** The products to pair; every ordered pair (X as org-a, Y as org-b and org-c), X = Y included. */
  products: ProductDeclaration[];
  progress: Progress;
  provider?: LabProvider;
  /** Only scenarios whose name matches, in every pair. */
  testNamePattern?: string;
  onResult?: (pair: string, result: TestResult) => void;
}

/**
 * The product × product matrix (KS 1.6.9): every ordered pair runs the profile's scenarios with X as the
 * organisation under test and Y as its peer. Each cell links to that pair's full report.
 */
export async function runInterop(run: InteropRun): Promise<{ matrix: InteropMatrix; dir: string }> {
  const runId = newRunId();
  const dir = join(reportsDir, 'interop', `${run.protocol}-${runId}`);
  const cells: InteropCell[] = [];
  const matrix = (): InteropMatrix => ({
    protocol: run.protocol, profile: run.profile.id, runId, products: run.products.map((p) => p.id), cells,
  });
  for (const a of run.products) {
    for (const b of run.products) {
      const pair = `${a.id}--${b.id}`;
      run.progress(`interop ${a.id} (org-a) × ${b.id} (org-b)`);
      try {
        const { report } = await runProduct({
          catalogue: run.catalogue, profile: run.profile, product: a, peer: b, progress: run.progress, dir: join(dir, pair),
          ...(run.provider ? { provider: run.provider } : {}),
          ...(run.testNamePattern ? { testNamePattern: run.testNamePattern } : {}),
          onResult: (result) => run.onResult?.(pair, result),
        });
        cells.push({
          orgA: { product: a.id, version: report.product.version },
          orgB: { product: b.id, version: report.peers[0]?.version ?? 'unknown' },
          status: report.totals.ERROR ? 'error' : report.totals.FAILED ? 'fail' : report.totals.PASSED ? 'pass' : 'error',
          totals: { passed: report.totals.PASSED, failed: report.totals.FAILED, error: report.totals.ERROR },
          answers: Object.fromEntries(report.requirements.filter((r) => r.tests.length > 0).map((r) => [r.id, r.answer])),
          findings: report.tests.filter((t) => t.status !== 'PASSED').map((t) => `${t.status} ${t.name}: ${(t.message ?? '').split('\n')[0]}`),
          report: join(pair, 'report.html'),
        });
      } catch (error) {
        cells.push({
          orgA: { product: a.id, version: 'unknown' }, orgB: { product: b.id, version: 'unknown' }, status: 'error',
          totals: { passed: 0, failed: 0, error: 0 }, answers: {}, findings: [`the run stopped early: ${(error as Error).message}`],
          report: join(pair, 'report.html'),
        });
      }
      writeInteropMatrix(dir, matrix()); // after every pair: an interrupted matrix keeps its cells
    }
  }
  return { matrix: matrix(), dir };
}
