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
  /** The run's test-name filter (-t), which explains requirements it left without tests. */
  testFilter?: string;
  /** Implementations of org-a and org-b when there is no lab description (a merged report: from the shards' reports). */
  implementations?: { 'org-a': string; 'org-b': string };
}

/** Why a requirement of the profile has no test behind it in this run, as precisely as the run can tell. */
function whyNoTests(id: string, input: ReportInput): string | undefined {
  const a = input.lab?.organisations['org-a'].implementation ?? input.implementations?.['org-a'];
  const b = input.lab?.organisations['org-b'].implementation ?? input.implementations?.['org-b'];
  if (id === 'FED-INTEROP' && a !== undefined && a === b) {
    return `org-a and org-b both run ${a}; interoperability needs two different implementations (\`fedconf interop\`, or a peer of another vendor)`;
  }
  if (input.testFilter !== undefined) return `no test matching -t ${JSON.stringify(input.testFilter)} evidences it`;
  return undefined;
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
      const why = inProfile.has(requirement.id) && behind.length === 0 && answer.answer === 'Not tested' ? whyNoTests(requirement.id, input) : undefined;
      return [requirement.id, why ? { ...answer, reason: why } : answer];
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
        organisations: lab ? Object.values(lab.organisations).map((o) => ({ name: o.name, domain: o.domain, product: o.product, implementation: o.implementation, version: o.version, role: roles[o.name] ?? '', ...(o.labDeviations?.length ? { deviations: [...o.labDeviations] } : {}) })) : [],
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
