/**
 * The one way a scenario says "the product does not do what the requirement asks".
 * Any other exception means the harness could not decide, and is reported as ERROR.
 */
export class ConformanceFailure extends Error {
  override readonly name = 'ConformanceFailure';
  constructor(message: string, readonly evidence?: string) {
    super(message);
  }
}

/** Errors whose name marks a product failure (vitest's expect throws AssertionError). */
export const productFailureNames: ReadonlySet<string> = new Set(['ConformanceFailure', 'AssertionError']);
