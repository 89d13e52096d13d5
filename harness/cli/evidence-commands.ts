import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadCatalogue } from '../catalogue/catalogue.ts';
import { reportsDir } from '../config/paths.ts';
import { createPackage } from '../package/create.ts';
import { verifyPackage } from '../package/verify.ts';
import { mergeReports, readShardRun, writeMerged } from '../report/merge.ts';
import { newRunId } from '../runner/run-product.ts';

/** `fedconf package`, `verify` and `merge`: turning run folders into evidence someone else can check. */
export function addEvidenceCommands(program: Command): void {
  program.command('package')
    .description('Write one signed archive (tar.gz) of a run: declarations, report (JSON, HTML, JUnit, answer sheets), redacted evidence and logs, a README on reproducing it, a SHA-256 manifest and an Ed25519 signature over it.')
    .argument('<runDir>', 'a run folder, e.g. reports/synapse/<run-id>')
    .requiredOption('--key <pem>', 'Ed25519 private key (PEM) to sign the manifest with, e.g. from `openssl genpkey -algorithm ed25519 -out key.pem`')
    .option('--out <file>', 'where to write the archive (default: fedconf-<product>-<run id>.tar.gz in the working directory)')
    .action(async (runDir: string, options: { key: string; out?: string }) => {
      const result = await createPackage({ runDir, keyFile: options.key, ...(options.out ? { out: options.out } : {}) });
      for (const caveat of result.caveats) console.error(`note: ${caveat}`);
      console.log(`${result.file}\n${result.files.length} files, manifest signed with key ${result.keyFingerprint}`);
    });

  program.command('verify')
    .description('Check a package: every file against the manifest, and the manifest\'s signature. Exit 0 intact, 1 a mismatch (each one named), 2 bad input.')
    .argument('<package>', 'a .tar.gz written by `fedconf package`')
    .option('--public-key <pem>', 'the signer\'s Ed25519 public key (PEM), obtained separately; default: the key inside the package')
    .action(async (archive: string, options: { publicKey?: string }) => {
      const result = await verifyPackage(archive, options.publicKey);
      for (const note of result.notes) console.log(`  ${note}`);
      for (const problem of result.problems) console.log(`✗ ${problem}`);
      console.log(result.ok ? `OK: ${archive} is intact and its signature is valid` : `MISMATCH: ${archive}: ${result.problems.length} problem(s)`);
      process.exitCode = result.ok ? 0 : 1;
    });

  program.command('merge')
    .description('Join the report.json files of the shards of one run (`run --shard i/N`) into one report, as a single job would have written it.')
    .argument('<runDirs...>', 'the shards\' run folders (all N of them)')
    .option('--out <dir>', 'where to write the merged report (default: reports/<product>/<new run id>/)')
    .action((runDirs: string[], options: { out?: string }) => {
      const catalogue = loadCatalogue();
      const runs = runDirs.map(readShardRun);
      const runId = newRunId();
      const report = mergeReports(runs, catalogue, runId);
      const dir = options.out ?? join(reportsDir, report.product.id, runId);
      mkdirSync(dir, { recursive: true });
      writeMerged(dir, runs, report);
      const errors = report.totals.ERROR;
      console.log(`${report.product.id}: ${report.tests.length} tests from ${runs.length} shards — ${report.totals.PASSED} passed, ${report.totals.FAILED} failed, ${errors} error; ${report.profiles.map((p) => `${p.id} ${p.verdict}`).join(', ')}\n${dir}/report.html`);
      process.exitCode = errors ? 2 : 0;
    });
}
