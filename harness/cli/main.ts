#!/usr/bin/env node
import { Command, Option } from 'commander';
import { getProfile, loadCatalogue, type Catalogue } from '../catalogue/catalogue.ts';
import { InputError } from '../config/input-error.ts';
import { listProductIds, loadProduct, type ProductDeclaration } from '../config/products.ts';
import { containersProvider, NoContainerRuntimeError } from '../lab/containers/provider.ts';
import { externalProvider } from '../lab/external/provider.ts';
import { writeTargetForLab } from '../lab/external/from-lab.ts';
import { loadTarget } from '../lab/external/target.ts';
import { installProducts, labDown, labStatus, labUp, nativeProvider } from '../lab/native/lab.ts';
import type { LabProvider } from '../lab/provider.ts';
import { labTargetFile } from '../config/paths.ts';
import { installReportBrowser } from '../report/browser.ts';
import { suiteVersion } from '../report/build.ts';
import { runProduct, type ProductRunOutcome } from '../runner/run-product.ts';
import { runInterop } from '../runner/interop.ts';
import { runCleanups } from '../runner/shutdown.ts';
import { interopTable } from '../report/interop.ts';
import { ProgressDisplay } from './progress.ts';
import { summaryTable } from './summary.ts';
import { registerAnswers } from './answers.ts';
import { registerDiff } from './diff.ts';
import { addEvidenceCommands } from './evidence-commands.ts';
import { parseShard } from '../package/provenance.ts';
import { refuseUncertifiableOptions } from '../runner/certification.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

/** The stock product a variant is a configuration of; it plays the peer organisations. */
function peerOf(product: ProductDeclaration, catalogue: Catalogue): ProductDeclaration {
  return product.variantOf ? loadProduct(product.variantOf, catalogue) : product;
}

const program = new Command('fedconf')
  .description('Conformance test suite for federated chat (Matrix, XMPP): drives real servers and writes a conformance report per product.')
  .version(suiteVersion);

program.command('run')
  .description('Run a profile against each product (on the native lab, or against a running deployment with --target); writes reports/<product>/<run-id>/ and prints a summary.')
  .option('--product <id>', 'product declaration id (fixtures/products/<id>.yaml), <id>@<version>, or path; repeat for several', collect, [])
  .option('--target <file>', 'a running deployment fedconf did not start (see fixtures/templates/target.example.yaml); replaces --product')
  .addOption(new Option('--provider <provider>', 'where the lab servers run for --product: native (local processes) or containers (testcontainers, needs a Docker engine)').choices(['native', 'containers']).default('native'))
  .option('--profile <id>', 'profile to run (see `fedconf profiles`)', 'federation')
  .option('-t, --test <pattern>', 'only tests whose name matches')
  .option('--strict', 'exit 1 when a profile is NOT CONFORMANT or the declaration check FAILED (for CI gates)')
  .option('--shard <i/N>', 'run only slice i of N of the suite\'s test files (deterministic); join the N reports with `fedconf merge`')
  .option('--certify', 'certification mode: refuses -t, and counts a skipped, .todo or .fails scenario as ERROR (see harness/runner/certification.ts)')
  .action(async (options: { product: string[]; target?: string; provider: 'native' | 'containers'; profile: string; test?: string; strict?: boolean; shard?: string; certify?: boolean }) => {
    // Validate everything before anything starts.
    const shard = options.shard === undefined ? undefined : parseShard(options.shard);
    if (options.shard !== undefined && !shard) throw new InputError('--shard', [`"${options.shard}" is not i/N with 1 ≤ i ≤ N (e.g. 1/2)`]);
    if (options.certify) refuseUncertifiableOptions(options);
    const catalogue = loadCatalogue();
    const profile = getProfile(catalogue, options.profile);
    if (!options.target === (options.product.length === 0)) {
      throw new InputError('command line', ['give either --product (the native lab starts the servers) or --target (a running deployment), not both or neither']);
    }
    const target = options.target ? loadTarget(options.target, catalogue) : undefined;
    if (target && options.provider === 'containers') throw new InputError('command line', ['--provider containers starts servers; --target names a running deployment: give one of them']);
    const provider: LabProvider = target ? externalProvider(target) : options.provider === 'containers' ? containersProvider : nativeProvider;
    const products = target ? [target.organisations['org-a'].product] : options.product.map((ref) => loadProduct(ref, catalogue));
    const peers = target ? [target.organisations['org-b'].product] : products.map((p) => peerOf(p, catalogue));
    const display = new ProgressDisplay();
    const outcomes: ProductRunOutcome[] = [];
    let failures = 0;
    try {
      display.step('installing the lab servers (skips what is there)');
      await provider.install([...products, ...peers], display.step);
      for (const [index, product] of products.entries()) {
        display.line(`▶ ${product.id}: profile ${profile.id}${target ? ` against ${target.file}` : ''}`);
        try {
          outcomes.push(await runProduct({
            catalogue, profile, product, peer: peers[index]!, progress: display.step, provider,
            ...(options.test ? { testNamePattern: options.test } : {}),
            ...(shard ? { shard } : {}), certify: options.certify ?? false, ...(target ? { targetFile: target.file } : {}),
            onResult: (r) => display.line(`  ${r.status.padEnd(7)} ${r.name} [${r.requirements.join(', ')}]${r.status === 'PASSED' ? '' : `\n          ${(r.message ?? '').split('\n')[0]}`}`),
          }));
        } catch (error) {
          failures++;
          display.line(`✗ ${product.id}: the run stopped early: ${(error as Error).message}`);
        }
      }
    } finally {
      display.done();
    }
    console.log(`\n${summaryTable(outcomes)}`);
    const errors = outcomes.reduce((n, o) => n + o.report.totals.ERROR, 0);
    // Set it outright: vitest sets exitCode 1 whenever a test fails, which here is a verdict, not a crash.
    const notConformant = outcomes.some((o) => o.report.profiles.some((p) => p.verdict !== 'CONFORMANT') || o.report.declarationCheck?.status === 'FAILED');
    process.exitCode = failures || errors ? 2 : options.strict && notConformant ? 1 : 0;
  });

program.command('interop')
  .description('Run the federation scenarios for every ordered pair of lab products of one protocol; writes a product × product matrix (JSON + HTML).')
  .addOption(new Option('--protocol <protocol>', 'which protocol\'s products to pair').choices(['matrix', 'xmpp']).makeOptionMandatory())
  .option('--product <id>', 'pair only these products (default: every stock lab product of the protocol); repeatable', collect, [])
  .option('--profile <id>', 'profile whose scenarios run for each pair', 'federation')
  .option('-t, --test <pattern>', 'only scenarios whose name matches, in every pair')
  .action(async (options: { protocol: 'matrix' | 'xmpp'; product: string[]; profile: string; test?: string }) => {
    const catalogue = loadCatalogue();
    const profile = getProfile(catalogue, options.profile);
    const products = (options.product.length ? options.product : listProductIds())
      .map((ref) => loadProduct(ref, catalogue))
      .filter((p) => p.protocol === options.protocol && p.lab && (options.product.length > 0 || !p.variantOf));
    if (products.length === 0) throw new InputError('--product', [`no lab product speaks ${options.protocol}`]);
    const display = new ProgressDisplay();
    try {
      display.step('installing the lab servers (skips what is there)');
      await installProducts(products, display.step);
      const { matrix, dir } = await runInterop({
        catalogue, profile, protocol: options.protocol, products, progress: display.step,
        ...(options.test ? { testNamePattern: options.test } : {}),
        onResult: (pair, r) => display.line(`  ${pair.padEnd(24)} ${r.status.padEnd(7)} ${r.name}${r.status === 'PASSED' ? '' : `\n          ${(r.message ?? '').split('\n')[0]}`}`),
      });
      display.done();
      console.log(`\n${interopTable(matrix)}\n\n${dir}/matrix.html`);
      process.exitCode = matrix.cells.some((c) => c.status === 'error') ? 2 : 0;
    } finally {
      display.done();
    }
  });

const lab = program.command('lab').description('Start, stop and inspect the native lab by hand.');
lab.command('up')
  .description('Start org-a, org-b and org-c (CA, DNS, servers) and leave them running; prints the lab description as JSON.')
  .option('--product <id>', 'product for org-a (org-b and org-c run its stock peer)', 'synapse')
  .action(async (options: { product: string }) => {
    const catalogue = loadCatalogue();
    const product = loadProduct(options.product, catalogue);
    const display = new ProgressDisplay();
    try {
      const running = await labUp({ 'org-a': product, 'org-b': peerOf(product, catalogue), 'org-c': peerOf(product, catalogue) }, display.step, 'detached');
      display.done();
      console.log(JSON.stringify(running.description, null, 2));
      console.error('The lab is running. Stop it with `fedconf lab down`.');
      try {
        const { exports } = writeTargetForLab(running.description, labTargetFile);
        console.error(`To test it from another process as an external deployment:\n${[...exports, `fedconf run --target ${labTargetFile}`].map((l) => `  ${l}`).join('\n')}`);
      } catch (error) {
        console.error(`(no target declaration for this lab: ${(error as Error).message})`);
      }
    } finally {
      display.done();
    }
  });
lab.command('down').description('Stop every process the lab started (by PID) and forget it.').action(async () => {
  const display = new ProgressDisplay();
  await labDown(display.step);
  display.done();
  console.log('lab is down');
});
lab.command('status').description('Show whether a lab is running and its processes.').action(() => {
  const status = labStatus();
  if (!status.state) {
    console.log('no lab');
    return;
  }
  console.log(`lab ${status.running ? 'running' : 'not running'} (${status.state.mode}, started ${status.state.startedAt})`);
  for (const p of status.processes) console.log(`  ${p.alive ? 'up  ' : 'gone'} ${p.name} pid ${p.pid}`);
  for (const o of Object.values(status.state.description?.organisations ?? {})) {
    console.log(`  ${o.name}: ${o.product} ${o.version} — ${o.domain} on ${o.address}, client ${o.clientUrl}, federation ${o.federationEndpoint}`);
  }
});

program.command('products').description('List the product declarations in fixtures/products/.').action(() => {
  const catalogue = loadCatalogue();
  for (const id of listProductIds()) {
    const p = loadProduct(id, catalogue);
    console.log(`${p.id.padEnd(26)} ${p.protocol.padEnd(7)} ${p.vendor} — ${p.name}${p.variantOf ? ` (negative control: ${p.purpose ?? ''})` : ''}`);
  }
});

program.command('profiles').description('List the profiles and their requirements.').action(() => {
  const catalogue = loadCatalogue();
  for (const p of catalogue.profiles.values()) {
    const must = p.requirements.filter((r) => r.level === 'MUST').length;
    console.log(`${p.id.padEnd(14)} ${p.title} — ${p.requirements.length} requirements (${must} MUST); suites: ${p.suites.join(', ') || '-'}`);
    console.log(`${' '.repeat(15)}${p.requirements.map((r) => r.id).join(' ')}`);
  }
});

program.command('setup')
  .description('Install the lab servers and the headless browser the project\'s tests check report.html in (idempotent: skips what is there).')
  .option('--product <id>', 'only this product (repeatable)', collect, [])
  .action(async (options: { product: string[] }) => {
    const catalogue = loadCatalogue();
    const ids = options.product.length ? options.product : listProductIds();
    const display = new ProgressDisplay();
    await installProducts(ids.map((id) => loadProduct(id, catalogue)).filter((p) => p.lab), display.step);
    // The project's tests open report.html in Debian's chromium.
    await installReportBrowser(display.step);
    display.done();
    console.error('lab servers and the report browser installed');
  });

// Commands on existing runs (issue 8): answer sheet, diff, package, verify, merge.
registerAnswers(program);
registerDiff(program);
addEvidenceCommands(program);

program.addOption(new Option('--no-color').hideHelp());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof InputError) {
    console.error(`fedconf: bad input in ${error.message}`);
    process.exitCode = 2;
  } else if (error instanceof NoContainerRuntimeError) {
    console.error(`fedconf: ${error.message}`);
    process.exitCode = 2;
  } else {
    console.error(`fedconf: ${(error as Error).message}`);
    process.exitCode = 1;
  }
} finally {
  await runCleanups();
}
