import { describe, expect, it } from 'vitest';
import type { Profile, Requirement } from '../../harness/catalogue/catalogue.ts';
import type { ProductDeclaration } from '../../harness/config/products.ts';
import type { TestResult, TestStatus } from '../../harness/verdict/model.ts';
import { ConformanceFailure, ifLacking, NotTestable, ProductLacks } from '../../harness/verdict/failure.ts';
import { answerProfile, answerRequirement } from '../../harness/verdict/verdict.ts';

const requirement = (id: string, level: Requirement['level'] = 'MUST', protocols: Requirement['protocols'] = ['matrix', 'xmpp']): Requirement =>
  ({ id, level, title: id, sources: ['KS 1.6.9'], protocols });
const product = (claims: ProductDeclaration['claims'] = {}): ProductDeclaration => ({
  id: 'p', vendor: 'v', name: 'P', protocol: 'xmpp', claims, provisioning: { method: 'prosodyctl' }, admin: {}, logs: {}, file: 'p.yaml',
});
const test = (status: TestStatus): TestResult => ({ id: status, name: status, file: 'f', requirements: ['FED-DM'], status, durationMs: 1, evidence: [] });
const answer = (...statuses: TestStatus[]) => answerRequirement(requirement('FED-DM'), product(), statuses.map(test)).answer;

describe('a requirement answer', () => {
  it('is Yes only when its tests pass', () => {
    expect(answer('PASSED', 'PASSED')).toBe('Yes');
  });
  it('is Not tested, never Yes, when no test evidences it', () => {
    expect(answer()).toBe('Not tested');
  });
  it('is No when every test fails and Partial when some pass', () => {
    expect(answer('FAILED')).toBe('No');
    expect(answer('PASSED', 'FAILED')).toBe('Partial');
  });
  it('is never decided by an ERROR: a passing test beside an ERROR is not a Yes', () => {
    expect(answer('ERROR')).toBe('Not tested');
    expect(answer('PASSED', 'ERROR')).toBe('Not tested');
  });
  it('is Not applicable for a requirement of another protocol, with the reason', () => {
    const result = answerRequirement(requirement('E2E-BACKUP', 'SHOULD', ['matrix']), product(), []);
    expect(result.answer).toBe('Not applicable');
    expect(result.reason).toContain('matrix');
  });
  it('follows the declaration: unsupported is No, not applicable carries its justification', () => {
    expect(answerRequirement(requirement('FED-DM'), product({ unsupported: ['FED-DM'] }), [test('PASSED')]).answer).toBe('No');
    const na = answerRequirement(requirement('FED-DM'), product({ notApplicable: { 'FED-DM': 'because of a stated reason' } }), []);
    expect(na).toMatchObject({ answer: 'Not applicable', reason: expect.stringContaining('stated reason') });
  });
});

describe('a profile verdict', () => {
  const profile: Profile = { id: 'x', title: 'X', description: '', suites: [], requirements: [requirement('A-1'), requirement('A-2', 'SHOULD'), requirement('A-3')] };
  const rows = (a1: string, a2: string, a3: string) => new Map([['A-1', a1], ['A-2', a2], ['A-3', a3]].map(([id, answer]) =>
    [id!, { id: id!, level: id === 'A-2' ? 'SHOULD' as const : 'MUST' as const, title: '', sources: [], answer: answer as never, reason: '', tests: [] }]));

  it('is CONFORMANT when every applicable MUST is Yes, whatever the SHOULDs', () => {
    const verdict = answerProfile(profile, rows('Yes', 'No', 'Not applicable'));
    expect(verdict.verdict).toBe('CONFORMANT');
    expect(verdict.should).toEqual({ total: 1, yes: 0, share: 0 });
  });
  it('is NOT CONFORMANT when a MUST is not tested, and says which', () => {
    const verdict = answerProfile(profile, rows('Yes', 'Yes', 'Not tested'));
    expect(verdict.verdict).toBe('NOT CONFORMANT');
    expect(verdict.mustNotYes).toEqual([{ id: 'A-3', answer: 'Not tested' }]);
  });
});

describe('a product lacking what a scenario asked of the lab', () => {
  it('becomes what the scenario makes of it, while any other error stays as it was', async () => {
    const lacking = () => Promise.reject(new ProductLacks('no retention mechanism'));
    await expect(ifLacking(lacking, (why) => new NotTestable(`RET-POLICY answers this: ${why}`))).rejects.toThrow(new NotTestable('RET-POLICY answers this: no retention mechanism'));
    await expect(ifLacking(lacking, (why) => new ConformanceFailure(why))).rejects.toBeInstanceOf(ConformanceFailure);
    await expect(ifLacking(() => Promise.reject(new Error('server did not start')), (why) => new NotTestable(why))).rejects.toThrow(/^server did not start$/);
    await expect(ifLacking(() => Promise.resolve(7), (why) => new NotTestable(why))).resolves.toBe(7);
  });
});
