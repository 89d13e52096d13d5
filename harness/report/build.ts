import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalogue, Profile } from '../catalogue/catalogue.ts';
import type { DeclarationCheck } from '../declaration/compare.ts';
import { displayPath } from '../config/load.ts';
import { repoRoot } from '../config/paths.ts';
import type { ProductDeclaration } from '../config/products.ts';
import type { LabDescription } from '../lab/types.ts';
import { testStatuses, type TestResult } from '../verdict/model.ts';
import { answerProfile, answerRequirement } from '../verdict/verdict.ts';
import type { Report } from './model.ts';

export const suiteVersion: string = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

const roles: Record<string, string> = { 'org-a': 'product under test', 'org-b': 'federation peer', 'org-c': 'outsider (not allowed by policy tests)' };

export interface ReportInput {
  catalogue: Catalogue;
  profile: Profile;
  product: ProductDeclaration;
  lab?: LabDescription;
  runId: string;
  startedAt: Date;
  endedAt?: Date;
  complete: boolean;
  note?: string;
  tests: TestResult[];
  declarationCheck?: DeclarationCheck;
}

/** Builds the report from whatever results exist so far; called after every test and at the end. */
export function buildReport(input: ReportInput): Report {
  const { catalogue, profile, product, lab, tests } = input;
  const inProfile = new Set(profile.requirements.map((r) => r.id));
  const answers = new Map(
    [...catalogue.requirements.values()].map((requirement) => {
      const behind = tests.filter((t) => t.requirements.includes(requirement.id));
      const answer = inProfile.has(requirement.id)
        ? answerRequirement(requirement, product, behind)
        : { ...answerRequirement(requirement, product, []), answer: 'Not tested' as const, reason: `not part of the ${profile.id} profile run` };
      return [requirement.id, answer];
    }),
  );
  const included = [profile, ...[...catalogue.profiles.values()].filter((p) => p.id !== profile.id && p.requirements.length > 0
    && p.requirements.every((r) => inProfile.has(r.id)) && p.id !== 'annex-e')];
  const totals = Object.fromEntries(testStatuses
    .map((s) => [s, tests.filter((t) => t.status === s).length])) as Report['totals'];
  const orgA = lab?.organisations['org-a'];
  return {
    schemaVersion: 1,
    suite: { name: 'fedconf', version: suiteVersion },
    run: {
      id: input.runId,
      status: input.complete ? 'complete' : 'incomplete',
      startedAt: input.startedAt.toISOString(),
      ...(input.endedAt ? { endedAt: input.endedAt.toISOString() } : {}),
      ...(input.note ? { note: input.note } : {}),
      lab: {
        provider: lab?.provider ?? 'none',
        organisations: lab ? Object.values(lab.organisations).map((o) => ({ name: o.name, domain: o.domain, product: o.product, implementation: o.implementation, version: o.version, role: roles[o.name] ?? '' })) : [],
      },
    },
    product: {
      id: product.id,
      vendor: product.vendor,
      name: product.name,
      version: orgA?.version ?? 'unknown (the server was not reached)',
      protocol: product.protocol,
      declaration: displayPath(product.file),
      ...(product.variantOf ? { variantOf: product.variantOf } : {}),
      ...(product.purpose ? { purpose: product.purpose } : {}),
    },
    peers: lab ? [lab.organisations['org-b']].map((o) => ({ organisation: o.name, product: o.product, implementation: o.implementation, version: o.version })) : [],
    profile: { id: profile.id, title: profile.title },
    profiles: included.map((p) => ({ ...answerProfile(p, answers), requirements: p.requirements.map((r) => r.id) })),
    ...(input.declarationCheck ? { declarationCheck: input.declarationCheck } : {}),
    requirements: [...answers.values()].map((a) => ({ ...a, inProfile: inProfile.has(a.id) })),
    tests,
    totals,
  };
}
