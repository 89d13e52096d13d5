import { readFileSync } from 'node:fs';
import type { SecretRef } from '../lab/types.ts';

/** The value behind a secret reference. Error messages name the reference, never the value. */
export function readSecret(ref: SecretRef): string {
  if ('env' in ref) {
    const value = process.env[ref.env];
    if (!value) throw new Error(`the secret env:${ref.env} is not set; export ${ref.env} before running`);
    return value.trim();
  }
  try {
    return readFileSync(ref.file, 'utf8').trim();
  } catch (error) {
    throw new Error(`cannot read the secret file ${ref.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
