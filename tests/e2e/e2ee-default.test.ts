import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { answerOf, fedconf, labProcessesLeft, latestReport, statusesFor } from './cli.ts';

/**
 * E2E-DEFAULT can pass: both stock products answer No (stock-findings.ts), so a positive variant shows the scenario is
 * not stuck at FAILED — Synapse with its documented switch encryption_enabled_by_default_for_room_type: invite
 * (fixtures/products/synapse-e2ee-default.yaml) is Yes, its test PASSED.
 */
const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-e2ee-default-'));

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

it('synapse-e2ee-default (encryption on by default for private rooms and DMs) answers E2E-DEFAULT Yes, its test PASSED', async () => {
  const result = await fedconf(['run', '--product', 'synapse-e2ee-default', '--profile', 'e2ee', '-t', 'E2E-DEFAULT:'], reportsDir);
  const report = latestReport(reportsDir, 'synapse-e2ee-default');
  expect(report.run.status, result.stderr).toBe('complete');
  expect(report.product.variantOf).toBe('synapse');
  expect(answerOf(report, 'E2E-DEFAULT'), result.stdout.slice(-3000)).toBe('Yes');
  expect(statusesFor(report, 'E2E-DEFAULT')).toEqual(['PASSED']);
});
