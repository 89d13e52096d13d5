import { describe, expect, it } from 'vitest';
import { classify } from '../../harness/runner/collector.ts';

describe('classifying a test that did not pass', () => {
  it('is FAILED when the product answered wrongly (ConformanceFailure or an expect assertion)', () => {
    expect(classify([{ name: 'ConformanceFailure', message: 'bob did not receive …' }])).toBe('FAILED');
    expect(classify([{ name: 'AssertionError', message: 'expected …' }])).toBe('FAILED');
  });
  it('is REVIEW when the harness cannot fetch the evidence and a person must check it (NeedsReview)', () => {
    expect(classify([{ name: 'NeedsReview', message: 'check the audit log for …' }])).toBe('REVIEW');
  });
  it('is ERROR for anything else: the harness could not decide', () => {
    expect(classify([{ name: 'TypeError', message: 'x is undefined' }])).toBe('ERROR');
    expect(classify([{ name: 'Error', message: 'connect ECONNREFUSED' }])).toBe('ERROR');
    expect(classify([])).toBe('ERROR');
  });
});
