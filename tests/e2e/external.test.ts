import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getProfile, loadCatalogue } from '../../harness/catalogue/catalogue.ts';
import { labTargetFile } from '../../harness/config/paths.ts';
import { secretEnvName } from '../../harness/lab/external/from-lab.ts';
import { loadTarget } from '../../harness/lab/external/target.ts';
import type { Report } from '../../harness/report/model.ts';
import { fedconf, labProcessesLeft, latestReport } from './cli.ts';

/**
 * A cross-section of the profile: client and federation paths, transport, files, a probe peer (NOT-RUN on a target,
 * which names no probe host) and a restart (NOT-RUN: a target offers no controls). The whole profile runs in stock-*.test.ts.
 */
const sample = 'FED-(DM|ROOM|DISCOVERY|TLS|FILE|AUTH):|SEC-TLS-CLIENT|org-b restarts';

const answers = (report: Report) => Object.fromEntries(report.requirements.map((r) => [r.id, r.answer]));

describe.each(['synapse', 'prosody'])('an external target: a %s lab started by another process', (product) => {
  it('gives the same verdicts as the same products started by the run itself', async () => {
    const ownDir = mkdtempSync(join(tmpdir(), 'fedconf-own-'));
    const externalDir = mkdtempSync(join(tmpdir(), 'fedconf-ext-'));
    const own = await fedconf(['run', '--product', product, '-t', sample], ownDir);
    expect(own.code, own.stderr).toBe(0);

    const up = await fedconf(['lab', 'up', '--product', product], externalDir);
    expect(up.code, up.stderr).toBe(0);
    try {
      // The secrets reach the second process only through the environment, as for a real deployment.
      const env: Record<string, string> = {};
      for (const org of ['org-a', 'org-b', 'org-c']) {
        const method = loadTarget(labTargetFile, loadCatalogue()).organisations[org as 'org-a'].provisioning;
        if (method.method === 'synapse-shared-secret' && 'env' in method.secret) {
          const state = JSON.parse(up.stdout) as { organisations: Record<string, { provisioning: { secret?: { file: string } } }> };
          env[secretEnvName(org)] = readFileSync(state.organisations[org]!.provisioning.secret!.file, 'utf8').trim();
        }
      }
      const external = await fedconf(['run', '--target', labTargetFile, '-t', sample], externalDir, env);
      expect(external.code, external.stderr).toBe(0);
      const ownReport = latestReport(ownDir, product);
      const externalReport = latestReport(externalDir, product);
      expect(externalReport.run.lab.provider).toBe('external');
      expect(externalReport.product.version).toBe(ownReport.product.version);
      // The target offers no lifecycle controls, so the scenarios that restart a server are NOT-RUN there,
      // with that reason; every other requirement must get the same answer as in the self-started run.
      const notRun = new Set(externalReport.tests.filter((t) => t.status === 'NOT-RUN').flatMap((t) => t.requirements));
      // Likewise the probes that play a peer on the lab's probe.test name (FED-AUTH, SEC-BAD-INPUT): a target names none.
      for (const t of externalReport.tests.filter((x) => x.status === 'NOT-RUN')) expect(t.message).toMatch(/no '(stop|start|restart|reconfigure)' control|offers no DNS name with a certificate for a probe peer/);
      const comparable = (report: Report) => Object.fromEntries(Object.entries(answers(report)).filter(([id]) => !notRun.has(id)));
      expect(comparable(externalReport)).toEqual(comparable(ownReport));
      expect(answers(externalReport)['FED-DISCOVERY']).toBe('Yes');
      expect(answers(externalReport)['FED-DM']).toBe('Yes');
      for (const secret of Object.values(env)) expect(JSON.stringify(externalReport)).not.toContain(secret);
    } finally {
      await fedconf(['lab', 'down'], externalDir);
    }
    expect(labProcessesLeft()).toEqual([]);
  });
});

describe('a target declaration with mistakes', () => {
  it('names the file and the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconf-badtarget-'));
    const file = join(dir, 'target.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, readFileSync(join(import.meta.dirname, '../../fixtures/templates/target.example.yaml'), 'utf8')
      .replace('secret: env:PILOT_A_REGISTRATION_SECRET', 'secret: hunter2'));
    expect(() => loadTarget(file, loadCatalogue())).toThrow(/target\.yaml[\s\S]*organisations\.org-a\.provisioning/);
    expect(getProfile(loadCatalogue(), 'federation').id).toBe('federation');
  });
});
