import type { ProductDeclaration } from '../config/products.ts';
import type { Protocol } from '../lab/types.ts';
import { featuresFor, matrixVersionClaim } from './vocabulary.ts';

/** What a probe saw of one observable feature: shown or not, and the evidence in a line; `error`: could not tell. */
export interface Observation {
  shown: boolean | 'error';
  detail: string;
}

/**
 * The declaration check of one run (report.json `declarationCheck`): each observable feature some claim
 * of the declaration needs, compared with what the server showed. A harness-level check beside the
 * catalogue: it does not change any requirement's answer (scenarios decide those), it says whether the
 * declaration itself is truthful. FAILED: a claimed capability was not shown; ERROR: it could not be told.
 */
export interface DeclarationCheck {
  status: 'PASSED' | 'FAILED' | 'ERROR';
  checks: Array<{ feature: string; description: string; claims: string[]; status: 'PASSED' | 'FAILED' | 'ERROR'; observed: string }>;
  /** Observed capabilities the declaration does not claim (or declares unsupported). */
  warnings: Array<{ feature: string; description: string; claims: string[]; observed: string }>;
  /** Claims no probe can see from the outside; the scenarios test them. */
  notObservable: string[];
  /** Why the whole check could not run, if it could not. */
  message?: string;
  /** Evidence files, relative to the run folder. */
  evidence: string[];
}

export function claimsOf(product: ProductDeclaration): Set<string> {
  return new Set([...(product.claims.supported ?? []), ...(product.claims.features ?? [])]);
}

/** Compares claims with observations (pure: the probes are in observe-*.ts). */
export function compareDeclaration(
  protocol: Protocol,
  claims: Set<string>,
  unsupported: Set<string>,
  observed: Map<string, Observation>,
): Omit<DeclarationCheck, 'evidence'> {
  const checks: DeclarationCheck['checks'] = [];
  const warnings: DeclarationCheck['warnings'] = [];
  const covered = new Set<string>();
  for (const feature of featuresFor(protocol)) {
    for (const claim of feature.claims) covered.add(claim);
    const claimedBy = feature.claims.filter((c) => claims.has(c));
    const seen = observed.get(feature.id) ?? { shown: 'error' as const, detail: 'not probed' };
    if (claimedBy.length > 0) {
      const status = seen.shown === 'error' ? 'ERROR' : seen.shown ? 'PASSED' : 'FAILED';
      checks.push({ feature: feature.id, description: feature.description, claims: claimedBy, status, observed: seen.detail });
    } else if (seen.shown === true) {
      const declaredUnsupported = feature.claims.filter((c) => unsupported.has(c));
      warnings.push({
        feature: feature.id, description: feature.description, observed: seen.detail,
        claims: declaredUnsupported.length > 0 ? declaredUnsupported : feature.warnAs ?? feature.claims,
      });
    }
  }
  if (protocol === 'matrix') matrixVersions(claims, observed, checks, warnings, covered);
  const status = checks.some((c) => c.status === 'FAILED') ? 'FAILED' : checks.some((c) => c.status === 'ERROR') ? 'ERROR' : 'PASSED';
  return { status, checks, warnings, notObservable: [...claims].filter((c) => !covered.has(c)).sort() };
}

/** Spec versions claimed as "client-server API v1.N" against the versions /_matrix/client/versions lists. */
function matrixVersions(claims: Set<string>, observed: Map<string, Observation>, checks: DeclarationCheck['checks'], warnings: DeclarationCheck['warnings'], covered: Set<string>): void {
  const answered = observed.get('client-api')?.shown === true;
  const advertised = [...observed.keys()].filter((k) => k.startsWith('spec:')).map((k) => k.slice(5));
  const claimed = [...claims].filter((c) => matrixVersionClaim.test(c));
  for (const claim of claimed) {
    covered.add(claim);
    const version = matrixVersionClaim.exec(claim)![1]!;
    const shown = advertised.includes(version);
    checks.push({
      feature: `spec:${version}`, description: `Client-Server API ${version} listed in /_matrix/client/versions`, claims: [claim],
      status: !answered ? 'ERROR' : shown ? 'PASSED' : 'FAILED',
      observed: !answered ? 'no /_matrix/client/versions answer' : `lists ${advertised.join(' ') || 'nothing'}`,
    });
  }
  const latest = advertised.filter((v) => /^v\d+\.\d+$/.test(v)).sort((a, b) => minor(a) - minor(b)).at(-1);
  if (claimed.length === 0 && latest) {
    warnings.push({
      feature: `spec:${latest}`, description: 'the Client-Server API versions the server lists', claims: [`client-server API ${latest}`],
      observed: `/_matrix/client/versions lists up to ${latest}; the declaration claims no spec version`,
    });
  }
}

const minor = (version: string) => Number(version.split('.')[1]);
