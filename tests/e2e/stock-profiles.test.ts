import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { labProcessesLeft } from './cli.ts';
import { expectStockAnswers, profileRuns, rowsOf } from './stock-findings.ts';

/** Each stock lab product through the guest-access, audit and e2ee profiles' own rows, as the findings say. */
const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-stock-'));

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

describe.each(profileRuns.filter((r) => r.profile !== 'retention'))('stock $product on the native lab, $profile profile', ({ product, profile, prefix, findings, timeoutMs }) => {
  it(`answers the ${prefix} rows as the findings say, with no ERROR`, { ...(timeoutMs ? { timeout: timeoutMs } : {}) }, async () => {
    await expectStockAnswers(reportsDir, product, profile, rowsOf(profile).filter((id) => id.startsWith(prefix)), findings[product], prefix);
  });
});
