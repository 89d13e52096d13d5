import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import * as tar from 'tar';
import { InputError } from '../config/input-error.ts';
import { displayPath } from '../config/load.ts';
import { repoRoot } from '../config/paths.ts';
import type { Report } from '../report/model.ts';
import { buildManifest, loadPrivateKey, manifestName, publicKeyName, publicPem, signatureName, signManifest, keyFingerprint } from './manifest.ts';
import { readProvenance, type Provenance } from './provenance.ts';
import { envRefsIn, Redactor, resolvableSecrets } from './redact.ts';
import { reproduceReadme } from './readme.ts';

export interface PackageRequest {
  runDir: string;
  /** PEM file of the operator's Ed25519 private key. */
  keyFile: string;
  /** Archive to write; default `fedconf-<product>-<run id>.tar.gz` in the working directory (as `npm pack` does). */
  out?: string;
  /** Secret values the caller knows beyond those the declarations reference (tests plant them here). */
  secrets?: string[];
}

export interface PackageResult {
  file: string;
  files: string[];
  keyFingerprint: string;
  /** What a reader of the package should know (an incomplete or partial run); the README says it too. */
  caveats: string[];
}

/** Folders of the run folder that go in, as they are (redacted): evidence transcripts and server logs. */
const copiedFolders = ['evidence', 'logs'];

function walk(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) return walk(join(dir, e.name), rel);
    return e.isFile() ? [rel] : [];
  });
}

/** Text unless it has a NUL byte near the start (spreadsheets and other zips go in untouched). */
function isText(data: Buffer): boolean {
  return !data.subarray(0, 8192).includes(0);
}

function declarationFiles(report: Report, provenance: Provenance | undefined): string[] {
  const named = provenance ? [...provenance.declarations, ...(provenance.target ? [provenance.target] : [])] : [report.product.declaration];
  return named.map((f) => (isAbsolute(f) ? f : join(repoRoot, f)));
}

function packageCaveats(report: Report, provenance: Provenance | undefined): string[] {
  const caveats: string[] = [];
  if (report.run.status !== 'complete') caveats.push(`the run is incomplete: ${report.run.note ?? 'no note'}`);
  if (report.totals.ERROR > 0) caveats.push(`${report.totals.ERROR} test(s) ended in ERROR (undecided)`);
  if (!provenance) caveats.push('the run folder has no provenance.json (written by runs since this version): the README cannot name the command line or commit');
  else if (!provenance.certify) caveats.push('not a certification run (fedconf run --certify)');
  if (provenance?.shard) caveats.push(`one shard (${provenance.shard.index}/${provenance.shard.count}) only; package the report \`fedconf merge\` writes`);
  return caveats;
}

/**
 * `fedconf package`: one signed archive a vendor can hand over — declarations, the report in every
 * format the run folder holds, evidence and server logs, all redacted, a README on reproducing the run,
 * a SHA-256 manifest and an Ed25519 signature over it with the operator's public key beside it.
 */
export async function createPackage(request: PackageRequest): Promise<PackageResult> {
  const runDir = resolve(request.runDir);
  const reportFile = join(runDir, 'report.json');
  if (!existsSync(reportFile)) throw new InputError(request.runDir, ['not a run folder: it has no report.json'], 'Give a folder under reports/<product>/ that a `fedconf run` or `fedconf merge` wrote.');
  let keyPem: string;
  try {
    keyPem = readFileSync(request.keyFile, 'utf8');
  } catch (error) {
    throw new InputError(request.keyFile, [`cannot read the signing key: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  let key;
  try {
    key = loadPrivateKey(keyPem, request.keyFile);
  } catch (error) {
    throw new InputError(request.keyFile, [(error as Error).message]);
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  const provenance = readProvenance(runDir);

  const raw = new Map<string, Buffer>();
  for (const name of readdirSync(runDir)) {
    const file = join(runDir, name);
    if (statSync(file).isFile()) raw.set(`report/${name}`, readFileSync(file));
  }
  for (const folder of copiedFolders) for (const rel of walk(join(runDir, folder))) raw.set(`${folder}/${rel}`, readFileSync(join(runDir, folder, rel)));
  // The declarations as the run read them (copied into its folder); older run folders: as they are now.
  const kept = walk(join(runDir, 'declaration')).map((rel) => join(runDir, 'declaration', rel));
  const declarations = kept.length ? kept : declarationFiles(report, provenance).filter((f) => existsSync(f));
  for (const file of declarations) raw.set(`declaration/${basename(file)}`, readFileSync(file));

  // Secrets the declarations reference by env:NAME are redacted by value wherever they show up.
  const refs = declarations.flatMap((f) => envRefsIn(readFileSync(f, 'utf8')));
  const redactor = new Redactor([...resolvableSecrets(refs), ...(request.secrets ?? [])]);
  const files = new Map<string, Buffer>();
  for (const [path, data] of raw) files.set(path, isText(data) ? Buffer.from(redactor.redact(data.toString('utf8')), 'utf8') : data);
  files.set('README.md', Buffer.from(redactor.redact(reproduceReadme(report, provenance, [...files.keys()].sort(), provenance ? [...provenance.declarations, ...(provenance.target ? [provenance.target] : [])] : declarations.map(displayPath))), 'utf8'));

  const manifest = buildManifest(files);
  const root = `fedconf-${report.product.id.replace(/[^A-Za-z0-9.@-]+/g, '_')}-${report.run.id}`;
  const stage = mkdtempSync(join(tmpdir(), 'fedconf-package-'));
  try {
    const put = (path: string, data: Buffer | string) => {
      mkdirSync(dirname(join(stage, root, path)), { recursive: true });
      writeFileSync(join(stage, root, path), data);
    };
    for (const [path, data] of files) put(path, data);
    put(manifestName, manifest);
    put(signatureName, signManifest(manifest, key));
    put(publicKeyName, publicPem(key));
    const out = resolve(request.out ?? `${root}.tar.gz`);
    mkdirSync(dirname(out), { recursive: true });
    await tar.create({ gzip: true, file: out, cwd: stage, portable: true, noDirRecurse: false }, [root]);
    return { file: out, files: [...files.keys()].sort(), keyFingerprint: keyFingerprint(key), caveats: packageCaveats(report, provenance) };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
