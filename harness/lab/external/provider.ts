import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordSourceOf } from '../../audit/declared.ts';
import { driverFor } from '../../drivers/index.ts';
import { xmppServerVersion } from '../../drivers/xmpp.ts';
import { matrixServerVersion } from '../../probes/matrix-version.ts';
import type { LabProvider } from '../provider.ts';
import { organisationNames, type LabDescription, type OrganisationDescription, type OrgName } from '../types.ts';
import type { Target } from './target.ts';

/**
 * A deployment fedconf did not start: nothing is installed, started or stopped; the description comes
 * from the target declaration and the versions from the running servers.
 */
export function externalProvider(target: Target): LabProvider {
  return {
    name: 'external',
    install: async () => {},
    async up(_assignment, progress) {
      const organisations = {} as Record<OrgName, OrganisationDescription>;
      for (const name of organisationNames) {
        const org = target.organisations[name];
        const description: OrganisationDescription = {
          name, domain: org.domain, address: new URL(org.clientUrl).hostname, product: org.product.id,
          implementation: org.product.lab?.adapter ?? org.product.variantOf ?? org.product.id,
          protocol: target.protocol, version: 'unknown', clientUrl: org.clientUrl,
          ...(org.clientTlsEndpoint ? { clientTlsEndpoint: org.clientTlsEndpoint } : {}),
          federationEndpoint: org.federationUrl ? new URL(org.federationUrl).host : `${org.domain}:5269`,
          ...(org.mucDomain ? { mucDomain: org.mucDomain } : {}),
          provisioning: org.provisioning,
        };
        const recordSource = recordSourceOf(org.product);
        if (recordSource) description.recordSource = recordSource;
        progress(`asking ${org.domain} (${name}) for its version`);
        description.version = await readVersion(description, org.federationUrl, target.caFile);
        organisations[name] = description;
      }
      const description: LabDescription = {
        provider: 'external', controls: target.controls, caFile: target.caFile ?? '', organisations,
        ...(target.dnsServer ? { dnsAddress: target.dnsServer } : {}),
      };
      driverFor(description); // fail now if the driver cannot be set up (e.g. an unreadable CA file)
      // Nothing to stop; only the claim files of pre-created accounts are this run's to remove.
      const down = async () => {
        for (const org of Object.values(target.organisations)) {
          if (org.provisioning.method === 'pre-created') rmSync(org.provisioning.claimDir, { recursive: true, force: true });
        }
      };
      return { description, down };
    },
  };
}

async function readVersion(org: OrganisationDescription, federationUrl: string | undefined, caFile: string | undefined): Promise<string> {
  if (org.protocol === 'matrix') return (await matrixServerVersion(federationUrl ?? '', org.domain, caFile)).version;
  // XEP-0092 needs a logged-in user; the probe account is removed again where the method allows it.
  for (let attempt = 0; ; attempt++) {
    try {
      return (await xmppServerVersion(org, caFile ?? '')).version;
    } catch (error) {
      if (attempt >= 2) throw error;
      await sleep(500);
    }
  }
}
