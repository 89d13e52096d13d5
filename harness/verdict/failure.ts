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

/**
 * The scenario cannot be carried out against this lab (e.g. an external deployment offers no restart
 * control): reported NOT-RUN with the reason, never FAILED.
 */
export class NotTestable extends Error {
  override readonly name = 'NotTestable';
}

/**
 * The product has no mechanism for a lab setting a scenario asked for (e.g. Dendrite has no federation
 * allow-list). Neither a harness fault nor, by itself, a failure: the scenario whose requirement is that
 * mechanism turns it into a ConformanceFailure; any other scenario lets it end as ERROR.
 */
export class ProductLacks extends Error {
  override readonly name = 'ProductLacks';
}

/**
 * Runs `work`, turning a ProductLacks into what the scenario makes of it: a ConformanceFailure where the missing
 * mechanism is its own requirement, a NotTestable where another scenario answers for it. Other errors pass as they are.
 */
export async function ifLacking<T>(work: () => Promise<T>, toError: (reason: string) => Error): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ProductLacks) throw toError(error.message);
    throw error;
  }
}

/**
 * The harness cannot fetch the evidence itself (a vendor's product declares no way to read its records): the
 * requirement is REVIEW, and the message lists what a person must check, with the actions' times.
 */
export class NeedsReview extends Error {
  override readonly name = 'NeedsReview';
}

/** Errors whose name marks a product failure (vitest's expect throws AssertionError). */
export const productFailureNames: ReadonlySet<string> = new Set(['ConformanceFailure', 'AssertionError']);
