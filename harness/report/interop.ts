import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

/** One ordered pair: org-a runs `orgA`, org-b (and org-c) run `orgB`. */
export interface InteropCell {
  orgA: { product: string; version: string };
  orgB: { product: string; version: string };
  /** pass: every test passed · fail: a test FAILED (a finding) · error: the harness could not decide. */
  status: 'pass' | 'fail' | 'error';
  totals: { passed: number; failed: number; error: number };
  /** Answers of the requirements this pair's tests evidence. */
  answers: Record<string, string>;
  /** One line per test that did not pass. */
  findings: string[];
  /** The pair's report.html, relative to the matrix folder. */
  report: string;
}

export interface InteropMatrix {
  protocol: string;
  profile: string;
  runId: string;
  products: string[];
  cells: InteropCell[];
}

const eta = new Eta({ views: join(dirname(fileURLToPath(import.meta.url)), 'templates'), autoEscape: true, cache: true });

export function writeInteropMatrix(dir: string, matrix: InteropMatrix): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'matrix.json'), `${JSON.stringify(matrix, null, 2)}\n`);
  const cell = (a: string, b: string) => matrix.cells.find((c) => c.orgA.product === a && c.orgB.product === b);
  writeFileSync(join(dir, 'matrix.html'), eta.render('interop', { m: matrix, cell }));
}

/** The matrix as text for the terminal. */
export function interopTable(matrix: InteropMatrix): string {
  const width = Math.max(14, ...matrix.products.map((p) => p.length + 2));
  const pad = (t: string) => t + ' '.repeat(Math.max(1, width - t.length));
  const lines = [`interop ${matrix.protocol} — profile ${matrix.profile} (rows: org-a, columns: org-b)`, pad('') + matrix.products.map(pad).join('')];
  for (const a of matrix.products) {
    lines.push(pad(a) + matrix.products.map((b) => {
      const c = matrix.cells.find((x) => x.orgA.product === a && x.orgB.product === b);
      return pad(c ? `${c.status.toUpperCase()} ${c.totals.passed}/${c.totals.passed + c.totals.failed + c.totals.error}` : '-');
    }).join(''));
  }
  return lines.join('\n');
}
