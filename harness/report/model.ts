import type { DeclarationCheck } from '../declaration/compare.ts';
import type { Protocol } from '../lab/types.ts';
import type { ProfileVerdict, RequirementResult, TestResult } from '../verdict/model.ts';

/** One product's conformance report: the content of report.json (schema: reports/report.schema.json). */
export interface Report {
  schemaVersion: 1;
  suite: { name: 'fedconf'; version: string };
  run: {
    id: string;
    /** 'incomplete' while running or when the run stopped early: the results so far are still here. */
    status: 'complete' | 'incomplete';
    startedAt: string;
    endedAt?: string;
    /** Why the run is incomplete, when it is. */
    note?: string;
    lab: {
      provider: string;
      /** deviations: what the lab changed in the product's stock configuration (native lab). */
      organisations: Array<{ name: string; domain: string; product: string; implementation: string; version: string; role: string; deviations?: string[] }>;
    };
  };
  product: {
    id: string;
    vendor: string;
    name: string;
    /** As reported by the running server. */
    version: string;
    protocol: Protocol;
    declaration: string;
    variantOf?: string;
    purpose?: string;
  };
  /** The federation peers org-a was tested against (org-b), with the version they reported. */
  peers: Array<{ organisation: string; product: string; implementation: string; version: string }>;
  profile: { id: string; title: string };
  /** The requested profile first, then the profiles it includes, each with the ids of its requirements. */
  profiles: Array<ProfileVerdict & { requirements?: string[] }>;
  /** Whether the server shows what the declaration claims (absent until the lab is up). */
  declarationCheck?: DeclarationCheck;
  /** Every row of the catalogue; rows outside the profile are Not tested with that reason. */
  requirements: Array<RequirementResult & { inProfile: boolean }>;
  tests: TestResult[];
  totals: Record<TestResult['status'], number>;
}
