import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { LabDescription, OrganisationDescription } from '../types.ts';

/** The environment variable a target written for a lab names for an organisation's registration secret. */
export const secretEnvName = (org: string) => `FEDCONF_SECRET_${org.toUpperCase().replace(/-/g, '_')}`;

/**
 * Describes a running native lab as an external target, so a second process can test it exactly as it
 * would test a deployment it did not start. Secrets appear only as env:NAME references; `exports`
 * says how to set them from the lab's files without printing a value.
 */
export function writeTargetForLab(lab: LabDescription, file: string): { exports: string[] } {
  const exports: string[] = [];
  const organisation = (o: OrganisationDescription) => {
    const p = o.provisioning;
    let provisioning: Record<string, unknown>;
    if (p.method === 'synapse-shared-secret') {
      if (!('file' in p.secret)) throw new Error(`${o.name}: the lab's secret is not in a file`);
      exports.push(`export ${secretEnvName(o.name)}="$(cat ${p.secret.file})"`);
      provisioning = { method: p.method, adminUrl: p.adminUrl, secret: `env:${secretEnvName(o.name)}` };
    } else if (p.method === 'prosodyctl') {
      provisioning = { method: p.method, configFile: p.configFile };
    } else {
      throw new Error(`${o.name}: a target cannot describe provisioning by ${p.method} yet`);
    }
    const port = o.federationEndpoint.split(':').at(-1);
    return {
      product: o.product, domain: o.domain, clientUrl: o.clientUrl,
      ...(o.clientTlsEndpoint ? { clientTlsEndpoint: o.clientTlsEndpoint } : {}),
      ...(o.protocol === 'matrix' ? { federationUrl: `https://${o.address}:${port}` } : {}),
      ...(o.mucDomain ? { mucDomain: o.mucDomain } : {}),
      provisioning,
    };
  };
  const target = {
    description: 'The native lab started by `fedconf lab up`, described as an external deployment.',
    protocol: lab.organisations['org-a'].protocol,
    caFile: lab.caFile,
    ...(lab.dnsAddress ? { dnsServer: lab.dnsAddress } : {}),
    organisations: Object.fromEntries(Object.values(lab.organisations).map((o) => [o.name, organisation(o)])),
    controls: [],
  };
  writeFileSync(file, `# Written by fedconf lab up. Run against it: fedconf run --target ${file}\n${stringify(target)}`);
  return { exports };
}
