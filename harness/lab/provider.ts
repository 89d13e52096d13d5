import type { ProductDeclaration } from '../config/products.ts';
import type { Progress } from './native/adapter.ts';
import type { LabSettings } from './native/adapter.ts';
import type { LabControl, LabDescription, OrganisationDescription, OrgName } from './types.ts';
import type { LabLog } from '../package/logs.ts';

/** A lifecycle step a scenario asks of the lab: stop / start / restart one organisation, or restart it with other settings. */
export interface ControlRequest {
  action: LabControl;
  org: OrgName;
  /** For 'reconfigure': settings that replace the product's own (e.g. { federation: false }). */
  settings?: LabSettings;
}

/** Which product plays which organisation: org-a is under test, org-b its peer, org-c the outsider. */
export type Assignment = Record<OrgName, ProductDeclaration>;

/** A lab that is up: what the scenarios need to know, and how to take it down again. */
export interface RunningLab {
  description: LabDescription;
  /** Stops every process this lab started (nothing, for a lab it did not start). Safe to call twice. */
  down(progress?: Progress): Promise<void>;
  /** Carries out a lifecycle step and resolves once the organisation is healthy (or stopped). Absent: no controls. */
  control?(request: ControlRequest, progress?: Progress): Promise<OrganisationDescription>;
  /** The servers' log files, for the run folder (absent: the provider cannot reach them). */
  logs?(): LabLog[];
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
