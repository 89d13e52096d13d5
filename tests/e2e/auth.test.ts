import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { answerOf, fedconf, labProcessesLeft, latestReport, statusesFor } from './cli.ts';

const reportsDir = mkdtempSync(join(tmpdir(), 'fedconf-e2e-auth-'));

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

// The stock products' FED-AUTH / SEC-BAD-INPUT answers are checked with the whole profile in stock-*.test.ts.

describe('the negative control prosody-s2s-insecure-auth (s2s_secure_auth = false)', () => {
  it('is caught: the self-signed peer test FAILED (not ERROR), FED-AUTH is not Yes, and the spoofing test still passes', async () => {
    const result = await fedconf(['run', '--product', 'prosody-s2s-insecure-auth', '-t', 'FED-AUTH'], reportsDir);
    const report = latestReport(reportsDir, 'prosody-s2s-insecure-auth');
    expect(report.run.status, result.stderr).toBe('complete');
    expect(statusesFor(report, 'FED-AUTH')).not.toContain('ERROR');
    const certificate = report.tests.find((t) => t.name.includes('a peer that cannot prove who it is'));
    expect(certificate?.status, JSON.stringify(certificate)).toBe('FAILED');
    expect(certificate?.message).toMatch(/accepted by dialback alone/);
    // The control breaks peer-certificate checking only: a spoofed from is still refused, so the failure is the product's.
    const spoofing = report.tests.find((t) => t.name.includes('content a peer did not sign'));
    expect(spoofing?.status, JSON.stringify(spoofing)).toBe('PASSED');
    expect(answerOf(report, 'FED-AUTH')).not.toBe('Yes');
    expect(report.product.variantOf).toBe('prosody');
  });
});

describe('ejabberd-no-dialback (stock ejabberd without mod_s2s_dialback)', () => {
  it('answers FED-AUTH Yes: the self-signed peer that stock ejabberd accepts is refused, so that finding is configuration', async () => {
    const result = await fedconf(['run', '--product', 'ejabberd-no-dialback', '-t', 'FED-AUTH'], reportsDir);
    const report = latestReport(reportsDir, 'ejabberd-no-dialback');
    expect(report.run.status, result.stderr).toBe('complete');
    expect(statusesFor(report, 'FED-AUTH')).not.toContain('ERROR');
    expect(answerOf(report, 'FED-AUTH'), result.stderr).toBe('Yes');
  });
});
