import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Catalogue } from '../../catalogue/catalogue.ts';
import { InputError } from '../../config/input-error.ts';
import { displayPath, readYaml, validateAgainst } from '../../config/load.ts';
import { labHome, profilesDir } from '../../config/paths.ts';
import { loadProduct, type ProductDeclaration } from '../../config/products.ts';
import { organisationNames, type LabControl, type OrgName, type Provisioning, type SecretRef } from '../types.ts';

interface TargetOrganisationFile {
  product: string;
  domain: string;
  clientUrl: string;
  clientTlsEndpoint?: string;
  federationUrl?: string;
  mucDomain?: string;
  provisioning:
    | { method: 'synapse-shared-secret'; adminUrl: string; secret: string }
    | { method: 'prosodyctl'; configFile: string }
    | { method: 'pre-created'; accounts: Array<{ address: string; password: string }> };
}

interface TargetFile {
  description?: string;
  protocol: 'matrix' | 'xmpp';
  caFile?: string;
  dnsServer?: string;
  organisations: Record<OrgName, TargetOrganisationFile>;
  controls: LabControl[];
}

export interface TargetOrganisation extends Omit<TargetOrganisationFile, 'provisioning' | 'product'> {
  product: ProductDeclaration;
  provisioning: Provisioning;
}

/** An external deployment, loaded and checked: products resolved, secret references parsed, paths absolute. */
export interface Target {
  file: string;
  protocol: 'matrix' | 'xmpp';
  caFile?: string;
  dnsServer?: string;
  organisations: Record<OrgName, TargetOrganisation>;
  controls: LabControl[];
}

const secretRef = (text: string): SecretRef => ({ env: text.slice('env:'.length) });

export function loadTarget(file: string, catalogue: Catalogue): Target {
  const data = validateAgainst<TargetFile>(join(profilesDir, 'schema', 'target.schema.json'), readYaml(file), file);
  const here = dirname(resolve(file));
  const absolute = (path: string) => (isAbsolute(path) ? path : join(here, path));
  // Created by the first claim (pre-created accounts only) and removed when the run's lab goes down.
  const claimDir = join(labHome, `claims-${process.pid}-${Date.now()}`);
  const problems: string[] = [];
  const organisations = {} as Record<OrgName, TargetOrganisation>;
  for (const name of organisationNames) {
    const org = data.organisations[name];
    let product: ProductDeclaration;
    try {
      product = loadProduct(org.product.includes('/') ? absolute(org.product) : org.product, catalogue);
    } catch (error) {
      problems.push(`field organisations.${name}.product: ${(error as Error).message.replace(/\s+/g, ' ')}`);
      continue;
    }
    if (product.protocol !== data.protocol) problems.push(`field organisations.${name}.product: ${product.id} speaks ${product.protocol}, the target ${data.protocol}`);
    if (data.protocol === 'matrix' && !org.federationUrl) problems.push(`field organisations.${name}.federationUrl: required for a Matrix deployment`);
    const p = org.provisioning;
    const provisioning: Provisioning = p.method === 'synapse-shared-secret' ? { ...p, secret: secretRef(p.secret) }
      : p.method === 'prosodyctl' ? { ...p, configFile: absolute(p.configFile) }
      : { method: 'pre-created', accounts: p.accounts.map((a) => ({ address: a.address, password: secretRef(a.password) })), claimDir };
    organisations[name] = { ...org, product, provisioning };
  }
  if (problems.length) throw new InputError(displayPath(file), problems);
  return { file, protocol: data.protocol, ...(data.caFile ? { caFile: absolute(data.caFile) } : {}), ...(data.dnsServer ? { dnsServer: data.dnsServer } : {}), organisations, controls: data.controls };
}
