/**
 * Benchmark: figures, not pass/fail. Per product: lab install and start time, the federation run's
 * wall time split into harness time and time waiting on servers, and cross-organisation delivery
 * latency p50 / p95 / p99 over a few hundred messages.
 *   npm run bench [-- --messages 300 --product synapse --product prosody]
 */
import { parseArgs } from 'node:util';
import { getProfile, loadCatalogue } from '../harness/catalogue/catalogue.ts';
import { loadProduct, type ProductDeclaration } from '../harness/config/products.ts';
import { driverFor } from '../harness/drivers/index.ts';
import { installProducts, labUp } from '../harness/lab/native/lab.ts';
import type { LabDescription } from '../harness/lab/types.ts';
import { provisionAccount } from '../harness/provisioning/index.ts';
import { runProduct } from '../harness/runner/run-product.ts';
import { onShutdown, runCleanups } from '../harness/runner/shutdown.ts';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '300' }, product: { type: 'string', multiple: true } } });
const messageCount = Number(values.messages);
const productIds = values.product?.length ? values.product : ['synapse', 'prosody'];
const catalogue = loadCatalogue();
const quiet = () => {};

const ms = (value: number) => `${Math.round(value)} ms`;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

/** Sequential ping: each message is sent only after the previous one arrived, so each sample is pure latency. */
async function deliveryLatency(lab: LabDescription, count: number): Promise<number[]> {
  const driver = driverFor(lab);
  const suffix = Date.now().toString(36);
  const alice = await driver.connect(await provisionAccount(lab.organisations['org-a'], `bench-alice-${suffix}`));
  const bob = await driver.connect(await provisionAccount(lab.organisations['org-b'], `bench-bob-${suffix}`));
  try {
    const out = await alice.openDirect(bob.account.address);
    const inbox = await bob.acceptDirect(alice.account.address);
    await alice.send(out, 'warm-up');
    await bob.waitFor((e) => e.kind === 'message' && e.conversation === inbox.id && e.body === 'warm-up', { description: 'warm-up' });
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      const body = `latency ${i} åäö`;
      const start = performance.now();
      await alice.send(out, body);
      await bob.waitFor((e) => e.kind === 'message' && e.conversation === inbox.id && e.body === body, { description: body, timeoutMs: 30_000 });
      samples.push(performance.now() - start);
    }
    return samples.sort((a, b) => a - b);
  } finally {
    await Promise.allSettled([alice.close(), bob.close()]);
  }
}

async function benchProduct(product: ProductDeclaration): Promise<string[]> {
  const lines = [`${product.id}`];
  let start = performance.now();
  await installProducts([product], quiet);
  lines.push(`  install (skips what is there)   ${ms(performance.now() - start)}`);

  start = performance.now();
  const lab = await labUp({ 'org-a': product, 'org-b': product, 'org-c': product }, quiet);
  const forget = onShutdown(() => lab.down(quiet));
  const startMs = performance.now() - start;
  lines.push(`  lab start (CA, DNS, 3 servers)  ${ms(startMs)}  → ${product.id} ${lab.description.organisations['org-a'].version}`);
  try {
    const samples = await deliveryLatency(lab.description, messageCount);
    lines.push(`  delivery org-a → org-b (n=${samples.length})  p50 ${percentile(samples, 50).toFixed(1)} ms  p95 ${percentile(samples, 95).toFixed(1)} ms  p99 ${percentile(samples, 99).toFixed(1)} ms`);
  } finally {
    start = performance.now();
    await lab.down(quiet);
    forget();
    lines.push(`  lab stop                        ${ms(performance.now() - start)}`);
  }

  start = performance.now();
  const { report, timings } = await runProduct({ catalogue, profile: getProfile(catalogue, 'federation'), product, peer: product, progress: quiet });
  const wall = performance.now() - start;
  const serverWait = report.tests.reduce((sum, t) => sum + (t.serverWaitMs ?? 0), 0);
  lines.push(`  federation run wall time        ${ms(wall)} (${report.tests.length} tests)`);
  lines.push(`    lab start / stop              ${ms(timings.labUpMs)} / ${ms(timings.labDownMs)}`);
  lines.push(`    scenarios                     ${ms(timings.scenariosMs)}: waiting on servers ${ms(serverWait)}, harness (vitest, reports) ${ms(timings.scenariosMs - serverWait)}`);
  return lines;
}

try {
  const output: string[] = [`fedconf benchmark — ${new Date().toISOString()} — node ${process.version}`];
  for (const id of productIds) output.push(...(await benchProduct(loadProduct(id, catalogue))));
  console.log(output.join('\n'));
} finally {
  await runCleanups();
}
