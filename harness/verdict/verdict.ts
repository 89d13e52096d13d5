import type { Profile, Requirement } from '../catalogue/catalogue.ts';
import type { ProductDeclaration } from '../config/products.ts';
import type { Answer, ProfileVerdict, RequirementResult, TestResult } from './model.ts';

/** Folds the tests behind one requirement into its answer. Never Yes without a passing test. */
export function answerRequirement(requirement: Requirement, product: ProductDeclaration, tests: TestResult[]): RequirementResult {
  const base = { id: requirement.id, level: requirement.level, title: requirement.title, sources: requirement.sources, tests: tests.map((t) => t.id) };
  const result = (answer: Answer, reason: string): RequirementResult => ({ ...base, answer, reason });

  if (!requirement.protocols.includes(product.protocol)) {
    return result('Not applicable', `applies to ${requirement.protocols.join(' and ')} only; ${product.name} speaks ${product.protocol}`);
  }
  const justification = product.claims.notApplicable?.[requirement.id];
  if (justification) return result('Not applicable', `declared not applicable: ${justification}`);
  if (product.claims.unsupported?.includes(requirement.id)) return result('No', 'declared unsupported by the product declaration');

  const count = (status: TestResult['status']) => tests.filter((t) => t.status === status).length;
  const passed = count('PASSED');
  const failed = count('FAILED');
  const errors = count('ERROR');
  const notOffered = count('SKIPPED-NA');
  const review = count('REVIEW');
  const notRun = tests.filter((t) => t.status === 'NOT-RUN');
  const errorNote = errors ? `; ${errors} test(s) ended in ERROR (undecided)` : '';

  if (tests.length === 0) return result('Not tested', 'no scenario of this suite version evidences it yet');
  if (notRun.length === tests.length) return result('Not tested', `not run here: ${[...new Set(notRun.map((t) => t.message ?? 'no reason given'))].join('; ')}`);
  if (failed > 0 && passed > 0) return result('Partial', `${passed} test(s) passed, ${failed} failed${errorNote}`);
  if (failed > 0) return result('No', `${failed} test(s) failed${errorNote}`);
  if (errors > 0) return result('Not tested', `undecided: ${errors} test(s) ended in ERROR, so the harness could not decide${passed ? ` (${passed} passed)` : ''}`);
  if (passed > 0 && notOffered > 0) return result('Partial', `${passed} test(s) passed, ${notOffered} feature(s) declared not offered`);
  if (passed > 0 && review > 0) return result('Not tested', `${passed} test(s) passed; ${review} need a person's review`);
  if (passed > 0) return result('Yes', `${passed} test(s) passed`);
  if (notOffered > 0) return result('No', 'the declaration says the feature is not offered');
  // What to check is in the tests' messages (the answer sheets show only this reason).
  const toReview = [...new Set(tests.filter((t) => t.status === 'REVIEW').map((t) => t.message ?? 'no reason given'))].join('; ');
  return result('Not tested', `${review} test(s) need a person's review of the evidence: ${toReview}`);
}

export function answerProfile(profile: Profile, answers: Map<string, RequirementResult>): ProfileVerdict {
  const rows = profile.requirements.map((r) => answers.get(r.id)).filter((r): r is RequirementResult => r !== undefined);
  const applicable = rows.filter((r) => r.answer !== 'Not applicable');
  const musts = applicable.filter((r) => r.level === 'MUST');
  const shoulds = applicable.filter((r) => r.level === 'SHOULD');
  const mustNotYes = musts.filter((r) => r.answer !== 'Yes').map((r) => ({ id: r.id, answer: r.answer }));
  const shouldYes = shoulds.filter((r) => r.answer === 'Yes').length;
  return {
    id: profile.id,
    title: profile.title,
    verdict: mustNotYes.length === 0 ? 'CONFORMANT' : 'NOT CONFORMANT',
    mustNotYes,
    must: { total: musts.length, yes: musts.length - mustNotYes.length },
    should: { total: shoulds.length, yes: shouldYes, share: shoulds.length ? shouldYes / shoulds.length : 1 },
  };
}
