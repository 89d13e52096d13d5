import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { labHome } from '../../harness/config/paths.ts';
import { comparableReport } from '../../harness/report/merge.ts';
import type { Report } from '../../harness/report/model.ts';
import { fedconf, labProcessesLeft } from './cli.ts';

const work = mkdtempSync(join(tmpdir(), 'fedconf-e2e-package-'));
const keyFile = join(work, 'vendor.key.pem');
const pubFile = join(work, 'vendor.pub.pem');
execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', keyFile]);
execFileSync('openssl', ['pkey', '-in', keyFile, '-pubout', '-out', pubFile]);

afterEach(() => {
  expect(labProcessesLeft(), 'lab processes left running').toEqual([]);
});

/** The run folder a CLI run wrote (its path is the last word of the summary's last line). */
function runDirOf(stdout: string): string {
  const html = stdout.trim().split('\n').at(-1)!.split(' ').at(-1)!;
  return html.replace(/\/report\.html$/, '');
}
const reportIn = (dir: string) => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;

function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    try {
      files.set(name, readFileSync(join(dir, name), 'latin1'));
    } catch {
      // a folder
    }
  }
  return files;
}

// One single-job run serves both: it is packaged, and it is what the merged shards must equal.
const pattern = 'FED-(DM|TLS)'; // one test file in each half of the suite (vitest shards by a hash of the file path)
let single: string;
beforeAll(async () => {
  const run = await fedconf(['run', '--product', 'synapse', '-t', pattern], join(work, 'single'));
  expect(run.code, run.stderr).toBe(0);
  single = runDirOf(run.stdout);
});

describe('a vendor runs, packages and hands over; an agency verifies (Synapse on the native lab)', () => {
  it('packages a real run with no secret in any file, verifies it, and names a tampered file', async () => {
    const reports = join(work, 'reports');
    const dir = single;
    // The lab's real secrets: the three registration shared secrets (the lab's folder stays until the next lab up).
    const secrets = ['org-a', 'org-b', 'org-c'].map((org) => readFileSync(join(labHome, 'run', org, 'registration_shared_secret'), 'utf8').trim());
    expect(readdirSync(join(dir, 'logs'))).toEqual(expect.arrayContaining(['org-a', 'org-b', 'org-c', 'dns']));

    const archive = join(work, 'synapse.package.tar.gz');
    const pack = await fedconf(['package', dir, '--key', keyFile, '--out', archive], reports);
    expect(pack.code, pack.stderr).toBe(0);
    const unpacked = mkdtempSync(join(work, 'unpacked-'));
    await tar.extract({ file: archive, cwd: unpacked });
    const files = filesUnder(unpacked);
    for (const f of ['logs/org-a/homeserver.log', 'declaration/synapse.yaml', 'report/report.html', 'report/junit.xml', 'report/provenance.json', 'README.md']) {
      expect([...files.keys()].some((name) => name.endsWith(f)), f).toBe(true);
    }
    for (const source of [files, filesUnder(dir)]) {
      for (const [path, text] of source) {
        for (const secret of secrets) expect(text, `a shared secret in ${path}`).not.toContain(secret);
        expect(text, `an access token in ${path}`).not.toMatch(/\bsyt_[A-Za-z0-9_-]{10,}/);
        expect(text, `a password in ${path}`).not.toMatch(/"password"\s*:\s*"(?!\[REDACTED\])[^"]+"/);
      }
    }

    const ok = await fedconf(['verify', archive, '--public-key', pubFile], reports);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    // Change one answer in the report and repack: verify names the file and both hashes.
    const [root] = readdirSync(unpacked);
    const reportFile = join(unpacked, root!, 'report', 'report.json');
    writeFileSync(reportFile, readFileSync(reportFile, 'utf8').replace('"answer": "Yes"', '"answer": "No"'));
    const forged = join(work, 'forged.tar.gz');
    await tar.create({ gzip: true, file: forged, cwd: unpacked }, [root!]);
    const bad = await fedconf(['verify', forged, '--public-key', pubFile], reports);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/changed file: report\/report\.json: expected sha256 [0-9a-f]{64}, actual [0-9a-f]{64}/);
  });

  it('a certification run refuses a test-name filter before anything starts', async () => {
    const refused = await fedconf(['run', '--product', 'synapse', '--certify', '-t', 'FED-DM'], join(work, 'certify'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--certify runs every test of the profile/);
  });
});

describe('scale-out: two shards merged equal one job (Synapse on the native lab)', () => {
  it('gives the same tests, statuses, requirement answers, verdicts and totals', async () => {
    const reports = join(work, 'shards');
    const shards: string[] = [];
    for (const shard of ['1/2', '2/2']) {
      const result = await fedconf(['run', '--product', 'synapse', '-t', pattern, '--shard', shard], reports);
      expect(result.code, result.stderr).toBe(0);
      shards.push(runDirOf(result.stdout));
    }
    const [a, b] = shards.map(reportIn);
    expect(a!.tests.length + b!.tests.length).toBe(reportIn(single).tests.length);
    const out = join(work, 'merged');
    const merge = await fedconf(['merge', ...shards, '--out', out], reports);
    expect(merge.code, merge.stderr).toBe(0);
    expect(comparableReport(reportIn(out))).toEqual(comparableReport(reportIn(single)));
    // A shard missing is refused, naming it.
    const partial = await fedconf(['merge', shards[0]!], reports);
    expect(partial.code).toBe(2);
    expect(partial.stderr).toMatch(/shard 2\/2 is missing/);
  });
});
