import type { ControlEndpoint } from '../lab/control-server.ts';
import type { LabDescription } from '../lab/types.ts';

/** What the runner hands every scenario file through vitest's provide/inject. */
declare module 'vitest' {
  export interface ProvidedContext {
    lab: LabDescription;
    /** Absolute path of the run's evidence folder. */
    evidenceDir: string;
    /** The lab's lifecycle controls; absent when the lab offers none. */
    labControl?: ControlEndpoint;
  }
}
declare module '@vitest/runner' {
  interface TaskMeta {
    /** Requirement ids this test evidences. */
    requirements?: string[];
    /** The specification clause the test relies on. */
    clause?: string;
    /** Evidence files written by the test, relative to the run folder. */
    evidence?: string[];
    /** Milliseconds the test spent waiting on the servers. */
    serverWaitMs?: number;
  }
}
export {};
