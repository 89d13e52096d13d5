import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * The checksum manifest of a package: one `<sha256 hex>  <path>` line per file, sorted by path — the
 * format `sha256sum -c MANIFEST.sha256` reads — and an Ed25519 signature over its exact bytes.
 */
export const manifestName = 'MANIFEST.sha256';
export const signatureName = 'MANIFEST.sig';
export const publicKeyName = 'signing-key.pub.pem';
/** The files that describe the others and are not listed in the manifest. */
export const packageMetaFiles = [manifestName, signatureName, publicKeyName];

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function buildManifest(files: Map<string, Buffer>): string {
  return [...files.keys()].sort().map((path) => `${sha256(files.get(path)!)}  ${path}\n`).join('');
}

/** path → hash; throws on a line that is not `<64 hex>  <path>`. */
export function parseManifest(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const [n, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) throw new Error(`${manifestName} line ${n + 1} is not "<sha256>  <path>"`);
    entries.set(m[2]!, m[1]!);
  }
  return entries;
}

export function loadPrivateKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new Error(`${source}: not a PEM private key (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${source}: an ${key.asymmetricKeyType ?? 'unknown'} key; the package is signed with Ed25519 (openssl genpkey -algorithm ed25519)`);
  return key;
}

export function loadPublicKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new Error(`${source}: not a PEM public key (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${source}: an ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
  return key;
}

/** Base64 Ed25519 signature over the manifest's bytes. */
export function signManifest(manifest: string, key: KeyObject): string {
  return `${sign(null, Buffer.from(manifest, 'utf8'), key).toString('base64')}\n`;
}

export function manifestSignatureValid(manifest: Buffer, signature: string, key: KeyObject): boolean {
  try {
    return verify(null, manifest, key, Buffer.from(signature.trim(), 'base64'));
  } catch {
    return false;
  }
}

/** SHA-256 of the public key's DER, to name a key in a sentence. */
export function keyFingerprint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return `SHA256:${sha256(pub.export({ type: 'spki', format: 'der' })).slice(0, 32)}`;
}

export function publicPem(key: KeyObject): string {
  return (createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string);
}
