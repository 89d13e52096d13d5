import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { InputError } from '../config/input-error.ts';
import { keyFingerprint, loadPublicKey, manifestName, manifestSignatureValid, packageMetaFiles, parseManifest, publicKeyName, sha256, signatureName } from './manifest.ts';

export interface VerifyResult {
  ok: boolean;
  /** Every mismatch, one sentence each (file, expected and actual hash; signature; unexpected or missing files). */
  problems: string[];
  /** What was checked, for the reader. */
  notes: string[];
}

function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    return e.isDirectory() ? walk(join(dir, e.name), rel) : [rel];
  });
}

/**
 * `fedconf verify`: unpacks the archive (regular files and folders only; node-tar keeps every path
 * inside the target folder), checks every file against the manifest and the manifest's signature,
 * with the public key given (pinned) or else the one in the package.
 * Bad input (unreadable archive, no manifest, unusable key file) is an InputError; mismatches are results.
 */
export async function verifyPackage(archive: string, publicKeyFile?: string): Promise<VerifyResult> {
  if (!existsSync(archive)) throw new InputError(archive, ['no such file']);
  const pinned = publicKeyFile ? (() => {
    try {
      return loadPublicKey(readFileSync(publicKeyFile, 'utf8'), publicKeyFile);
    } catch (error) {
      throw new InputError(publicKeyFile, [(error as Error).message]);
    }
  })() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'fedconf-verify-'));
  try {
    const skipped: string[] = [];
    try {
      await tar.extract({
        file: archive, cwd: dir, strict: true,
        filter: (path, entry) => {
          const type = 'type' in entry ? entry.type : 'File';
          if (type === 'File' || type === 'Directory' || type === 'OldFile' || type === 'ContiguousFile') return true;
          skipped.push(`${path} (${type})`);
          return false;
        },
      });
    } catch (error) {
      throw new InputError(archive, [`not a readable tar.gz archive: ${(error as Error).message}`]);
    }
    const tops = readdirSync(dir);
    const root = tops.length === 1 && !existsSync(join(dir, manifestName)) ? join(dir, tops[0]!) : dir;
    const manifestFile = join(root, manifestName);
    if (!existsSync(manifestFile)) throw new InputError(archive, [`no ${manifestName}: not a fedconf package`]);
    const manifestBytes = readFileSync(manifestFile);
    let expected: Map<string, string>;
    try {
      expected = parseManifest(manifestBytes.toString('utf8'));
    } catch (error) {
      return { ok: false, problems: [(error as Error).message], notes: [] };
    }

    const problems: string[] = skipped.map((s) => `unexpected entry that is not a regular file: ${s}`);
    const notes: string[] = [];
    const present = new Set(walk(root).filter((f) => !packageMetaFiles.includes(f)));
    for (const [path, hash] of expected) {
      if (!present.has(path)) {
        problems.push(`missing file: ${path} (manifest sha256 ${hash})`);
        continue;
      }
      const actual = sha256(readFileSync(join(root, path)));
      if (actual !== hash) problems.push(`changed file: ${path}: expected sha256 ${hash}, actual ${actual}`);
    }
    for (const path of [...present].sort()) if (!expected.has(path)) problems.push(`unexpected file not in the manifest: ${path} (sha256 ${sha256(readFileSync(join(root, path)))})`);
    notes.push(`${expected.size} file(s) in the manifest`);

    const embeddedFile = join(root, publicKeyName);
    let embedded;
    if (existsSync(embeddedFile)) {
      try {
        embedded = loadPublicKey(readFileSync(embeddedFile, 'utf8'), publicKeyName);
      } catch (error) {
        problems.push(`${publicKeyName} in the package is unusable: ${(error as Error).message}`);
      }
    } else if (!pinned) problems.push(`missing file: ${publicKeyName} (and no --public-key given), so the signature cannot be checked`);
    const key = pinned ?? embedded;
    if (pinned && embedded && keyFingerprint(pinned) !== keyFingerprint(embedded)) {
      notes.push(`the package names another key (${keyFingerprint(embedded)}) than the one given (${keyFingerprint(pinned)}); checked with the one given`);
    }
    const signatureFile = join(root, signatureName);
    if (!existsSync(signatureFile)) problems.push(`missing file: ${signatureName}: the manifest is not signed`);
    else if (key) {
      if (manifestSignatureValid(manifestBytes, readFileSync(signatureFile, 'utf8'), key)) {
        notes.push(`signature valid: ${signatureName} over ${manifestName} by key ${keyFingerprint(key)}${pinned ? ' (the key given)' : ' (the key inside the package; pin the signer\'s key with --public-key)'}`);
      } else {
        problems.push(`signature invalid: ${signatureName} does not verify ${manifestName} with key ${keyFingerprint(key)}${pinned ? ' (the key given)' : ' (the key inside the package)'}`);
      }
    }
    return { ok: problems.length === 0, problems, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
