import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { labProcessesLeft } from './cli.ts';
import { expectStockAnswers, federationFindings, products, rowsOf } from './stock-findings.ts';

/** Each stock lab product through the whole federation profile (with baseline), as the findings say; the declaration holds. */
const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-stock-'));

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

describe.each(products)('stock %s on the native lab, federation profile', (product) => {
  it('answers the whole federation profile (with baseline) as the findings say, with no ERROR; its declaration holds', async () => {
    await expectStockAnswers(reportsDir, product, 'federation', rowsOf('federation'), federationFindings[product]);
  });
});
