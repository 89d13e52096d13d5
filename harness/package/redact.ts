import type { LabDescription, SecretRef } from '../lab/types.ts';
import { readSecret } from '../provisioning/secrets.ts';

export const REDACTED = '[REDACTED]';

/**
 * Credentials by shape, for values the harness never knew (the servers' own tokens, the random test
 * passwords a worker made): JSON/YAML fields, query parameters, HTTP headers, Matrix token prefixes,
 * XMPP SASL payloads and upload-slot headers. Each keeps the name and replaces only the value, so a log line still reads.
 */
const patterns: Array<[RegExp, string]> = [
  [/("(?:password|new_password|access_token|refresh_token|mac|token|registration_shared_secret|macaroon_secret_key|form_secret)"\s*:\s*")((?:[^"\\]|\\.)*)(")/gi, `$1${REDACTED}$3`],
  [/\b((?:password|access_token|refresh_token|registration_shared_secret|macaroon_secret_key|form_secret|shared_secret)\s*[:=]\s*)(?!\[REDACTED\])("(?:[^"\\]|\\.)*"|'[^']*'|[^\s&"',;}]+)/gi, `$1${REDACTED}`],
  [/\b(authorization\s*:\s*(?:Bearer|Basic|X-Matrix)\s+)([^\r\n"]+)/gi, `$1${REDACTED}`],
  [/\bsy[tr]_[A-Za-z0-9_-]+/g, REDACTED],
  [/(<(?:auth|response|challenge|success)\b[^>]*>)([^<]+)(<\/(?:auth|response|challenge|success)>)/gi, `$1${REDACTED}$3`],
  // XEP-0363 upload slots carry the PUT's credentials as <header name="Authorization|Cookie">.
  [/(<header\b[^>]*\bname=["'](?:authorization|cookie)["'][^>]*>)([^<]+)(<\/header>)/gi, `$1${REDACTED}$3`],
];

/** Replaces known secret values and anything shaped like a credential. */
export class Redactor {
  private readonly values: string[];

  /** `values`: secrets known by value (at least 6 characters, so short words are never blanked). */
  constructor(values: Iterable<string> = []) {
    this.values = [...new Set([...values].map((v) => v.trim()).filter((v) => v.length >= 6))].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.values) out = out.split(value).join(REDACTED);
    for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement);
    return out;
  }

  /** Whether a text still holds one of the known secret values (for self-checks and tests). */
  leaks(text: string): boolean {
    return this.values.some((v) => text.includes(v));
  }

  with(values: Iterable<string>): Redactor {
    return new Redactor([...this.values, ...values]);
  }
}

/** Every secret reference in a lab's provisioning (shared secrets, pre-created accounts' passwords). */
export function secretRefsOf(lab: LabDescription): SecretRef[] {
  return Object.values(lab.organisations).flatMap((o) => {
    const p = o.provisioning;
    const recordToken = o.recordSource?.token ? [o.recordSource.token] : [];
    if (p.method === 'synapse-shared-secret') return [p.secret, ...recordToken];
    if (p.method === 'pre-created') return [...p.accounts.map((a) => a.password), ...recordToken];
    return recordToken;
  });
}

/** The values behind references, skipping those that cannot be read now (an unset variable, a removed file). */
export function resolvableSecrets(refs: SecretRef[]): string[] {
  return refs.flatMap((ref) => {
    try {
      return [readSecret(ref)];
    } catch {
      return [];
    }
  });
}

/** `env:NAME` references in a declaration's text: their values are secrets wherever they show up. */
export function envRefsIn(text: string): SecretRef[] {
  return [...text.matchAll(/\benv:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => ({ env: m[1]! }));
}
