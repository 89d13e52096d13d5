import type { ProductDeclaration } from '../config/products.ts';
import type { Progress } from './native/adapter.ts';
import type { LabDescription, OrgName } from './types.ts';

/** Which product plays which organisation: org-a is under test, org-b its peer, org-c the outsider. */
export type Assignment = Record<OrgName, ProductDeclaration>;

/** A lab that is up: what the scenarios need to know, and how to take it down again. */
export interface RunningLab {
  description: LabDescription;
  /** Stops every process this lab started (nothing, for a lab it did not start). Safe to call twice. */
  down(progress?: Progress): Promise<void>;
}

/**
 * Where the organisations come from: `native` (local processes, the default), `containers`
 * (testcontainers, for people with a Docker engine) or `external` (a deployment someone else runs).
 */
export interface LabProvider {
  readonly name: 'native' | 'containers' | 'external';
  /** Install what the products need, if this provider installs anything (idempotent). */
  install(products: ProductDeclaration[], progress: Progress): Promise<void>;
  up(assignment: Assignment, progress: Progress): Promise<RunningLab>;
}
