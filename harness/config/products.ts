import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalogue } from '../catalogue/catalogue.ts';
import type { LabSettings } from '../lab/native/adapter.ts';
import type { Protocol } from '../lab/types.ts';
import { InputError } from './input-error.ts';
import { displayPath, readYaml, validateAgainst } from './load.ts';
import { productsDir, profilesDir } from './paths.ts';

/** A product declaration as committed in fixtures/products/ (see profiles/schema/product.schema.json). */
export interface ProductDeclaration {
  id: string;
  vendor: string;
  name: string;
  protocol: Protocol;
  description?: string;
  version?: { source: 'server'; probe?: string };
  variantOf?: string;
  purpose?: string;
  claims: {
    supported?: string[];
    unsupported?: string[];
    notApplicable?: Record<string, string>;
    features?: string[];
  };
  provisioning: { method: 'synapse-shared-secret' | 'prosodyctl' | 'ejabberdctl' | 'pre-created'; description?: string };
  admin: { api?: string; cli?: string; description?: string };
  logs: { files?: string[]; format?: string; description?: string; source?: RecordSourceDeclaration };
  lab?: { adapter: string; settings?: LabSettings; version?: string };
  /** Where it was read from (not part of the file). */
  file: string;
}

/** Where the harness fetches a product's own records (audit profile): one of file, command, url. */
export interface RecordSourceDeclaration {
  file?: string;
  command?: string[];
  /** `{since}` is replaced by the search's start (ISO 8601). */
  url?: string;
  /** Bearer token for url, by reference only: `env:NAME`. */
  token?: string;
  /** A regular expression whose first group is a record's timestamp (ISO 8601); default: the line's first one. */
  stamp?: string;
  /** Per action, regular expressions a record must all match; placeholders {address} {actor} {subject} {room}. */
  marks?: Partial<Record<'accountCreated' | 'accountRemoved' | 'loginFailed' | 'loginSucceeded' | 'privilegeChanged', string[]>>;
}

const schemaFile = join(profilesDir, 'schema', 'product.schema.json');

/**
 * Load a declaration by id (fixtures/products/<id>.yaml) or by path; validates schema and requirement ids.
 * `<id>@<version>` asks the native lab for that server version (e.g. synapse@1.150.0); its id keeps
 * the version, so its reports land in reports/<id>@<version>/.
 */
export function loadProduct(ref: string, catalogue: Catalogue): ProductDeclaration {
  const at = ref.lastIndexOf('@');
  if (at > 0 && !ref.includes('/')) {
    const [base, version] = [ref.slice(0, at), ref.slice(at + 1)];
    if (!/^\d+(\.\d+)*([a-z0-9.+-]*)$/i.test(version)) {
      throw new InputError('--product', [`"${ref}": "${version}" is not a version number`], 'Write it as <product>@<version>, e.g. synapse@1.150.0');
    }
    const product = loadProduct(base, catalogue);
    if (!product.lab) throw new InputError('--product', [`"${ref}": ${base} is not run by the native lab, so no version can be chosen`]);
    return { ...product, id: `${product.id}@${version}`, lab: { ...product.lab, version } };
  }
  const file = ref.includes('/') || ref.endsWith('.yaml') ? ref : join(productsDir, `${ref}.yaml`);
  if (!existsSync(file)) {
    throw new InputError('--product', [`no product declaration "${ref}" (looked for ${displayPath(file)})`],
      `Known products: ${listProductIds().join(', ')} (see \`fedconf products\`), or pass a path to a declaration file.`);
  }
  const data = validateAgainst<Omit<ProductDeclaration, 'file'>>(schemaFile, readYaml(file), file);
  const problems: string[] = [];
  const check = (field: string, ids: string[]) => {
    for (const id of ids) if (!catalogue.requirements.has(id)) problems.push(`field ${field}: "${id}" is not a requirement id in profiles/requirements.yaml`);
  };
  check('claims.supported', data.claims.supported ?? []);
  check('claims.unsupported', data.claims.unsupported ?? []);
  check('claims.notApplicable', Object.keys(data.claims.notApplicable ?? {}));
  const source = data.logs.source;
  if (source && [source.file, source.command, source.url].filter(Boolean).length !== 1) problems.push('field logs.source: give exactly one of file, command, url');
  if (source?.token && !source.url) problems.push('field logs.source.token: only for url');
  const both = (data.claims.supported ?? []).filter((id) => (data.claims.unsupported ?? []).includes(id));
  for (const id of both) problems.push(`field claims: "${id}" is listed as both supported and unsupported`);
  if (problems.length) throw new InputError(displayPath(file), problems);
  return { ...data, file };
}

export function listProductIds(): string[] {
  return readdirSync(productsDir).filter((n) => n.endsWith('.yaml')).map((n) => n.slice(0, -'.yaml'.length)).sort();
}
