import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { displayPath } from '../config/load.ts';
import type { ProductDeclaration } from '../config/products.ts';
import type { LabDescription } from '../lab/types.ts';
import { claimsOf, compareDeclaration, type DeclarationCheck, type Observation } from './compare.ts';
import { observeMatrix } from './observe-matrix.ts';
import { observeXmpp } from './observe-xmpp.ts';

export const declarationEvidence = join('evidence', 'declaration-check.txt');

/**
 * Compares the product's declaration with what org-a's running server shows, and writes what was asked and
 * answered to evidence/declaration-check.txt. Never throws: a probe that cannot run makes the check ERROR.
 */
export async function checkDeclaration(product: ProductDeclaration, lab: LabDescription, runDir: string): Promise<DeclarationCheck> {
  const org = lab.organisations['org-a'];
  const log: string[] = [];
  let observed: Map<string, Observation>;
  let message: string | undefined;
  try {
    observed = org.protocol === 'matrix' ? await observeMatrix(org, lab.caFile || undefined, log) : await observeXmpp(org, lab.caFile, log);
  } catch (error) {
    message = `the server could not be probed: ${(error as Error).message}`;
    log.push(message);
    observed = new Map();
  }
  const result = compareDeclaration(product.protocol, claimsOf(product), new Set(product.claims.unsupported ?? []), observed);
  const lines = [
    `Declaration check: ${product.id} (${displayPath(product.file)}) against ${org.domain} (${org.implementation} ${org.version})`,
    `Status: ${result.status}`,
    '',
    ...result.checks.map((c) => `${c.status.padEnd(6)} ${c.feature}: claimed by ${c.claims.join(', ')} — ${c.observed}`),
    ...result.warnings.map((w) => `WARN   ${w.feature}: shown (${w.observed}) but not claimed (${w.claims.join(' / ')})`),
    `Not observable from outside (left to the scenarios): ${result.notObservable.join(', ') || '-'}`,
    '',
    '== what the server answered',
    ...log,
  ];
  mkdirSync(join(runDir, 'evidence'), { recursive: true });
  writeFileSync(join(runDir, declarationEvidence), `${lines.join('\n')}\n`);
  return { ...result, ...(message ? { message, status: 'ERROR' as const } : {}), evidence: [declarationEvidence] };
}
