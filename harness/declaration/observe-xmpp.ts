import { withXmppProbe } from '../drivers/xmpp.ts';
import type { OrganisationDescription } from '../lab/types.ts';
import type { Observation } from './compare.ts';
import { xmppDiscoFeatures } from './vocabulary.ts';

/**
 * What an XMPP server shows a logged-in client (XEP-0030): disco#info of the server domain, of the
 * account's own bare JID (PEP, MAM) and of every component the server lists in disco#items (the MUC
 * service among them). `log` collects each entity's identities and features for the evidence file.
 */
export async function observeXmpp(org: OrganisationDescription, caFile: string, log: string[]): Promise<Map<string, Observation>> {
  return withXmppProbe(org, caFile, 'fedconf-declaration', async (session) => {
    const seen = new Map<string, Observation>();
    seen.set('client-tls', { shown: session.secure, detail: session.secure ? 'logged in over STARTTLS' : 'logged in without TLS' });
    const info = new Map<string, { identities: string[]; features: string[] } | Error>();
    const ask = async (entity: string) => {
      try {
        info.set(entity, await session.discoInfo(entity));
      } catch (error) {
        info.set(entity, error as Error);
      }
    };
    const account = session.account.address;
    await ask(org.domain);
    await ask(account);
    let components: string[] = [];
    try {
      components = (await session.discoItems(org.domain)).filter((jid) => !jid.includes('@') && jid !== org.domain);
    } catch (error) {
      log.push(`disco#items ${org.domain}: ${(error as Error).message}`);
    }
    if (org.mucDomain && !components.includes(org.mucDomain)) components.push(org.mucDomain);
    for (const component of components) await ask(component);
    for (const [entity, result] of info) {
      log.push(result instanceof Error
        ? `disco#info ${entity}: ${result.message}`
        : `disco#info ${entity}\n  identities: ${result.identities.join(' ')}\n  features: ${result.features.join(' ')}`);
    }

    const entitiesFor = (where: (typeof xmppDiscoFeatures)[string]['entity']): string[] =>
      where === 'server' ? [org.domain] : where === 'account' ? [account] : where === 'muc' ? (org.mucDomain ? [org.mucDomain] : components) : components;
    for (const [id, { entity, feature }] of Object.entries(xmppDiscoFeatures)) {
      const entities = entitiesFor(entity);
      const offering = entities.find((e) => { const r = info.get(e); return r && !(r instanceof Error) && r.features.includes(feature); });
      const failed = entities.filter((e) => info.get(e) instanceof Error);
      if (offering) seen.set(id, { shown: true, detail: `${offering} lists ${feature}` });
      else if (entities.length > 0 && failed.length === entities.length) seen.set(id, { shown: 'error', detail: `disco#info of ${failed.join(', ')} failed` });
      else seen.set(id, { shown: false, detail: entities.length ? `${feature} not listed by ${entities.join(', ')}` : `no ${entity} entity to ask for ${feature}` });
    }
    return seen;
  });
}
