import { describe, expect, it } from 'vitest';
import type { OrganisationPlan } from '../../harness/lab/native/adapter.ts';
import { prosodyConfig, type ProsodyConfig } from '../../harness/lab/native/prosody.ts';
import { homeserverConfig, type ConfigFiles } from '../../harness/lab/native/synapse.ts';

const prosody: ProsodyConfig = {
  domain: 'org-a.test', address: '127.0.0.1', dnsAddress: '127.0.0.10', dataDir: '/d', pidFile: '/p', certificatesDir: '/c',
  certificateFile: '/c/a.crt', keyFile: '/c/a.key', caFile: '/c/ca.pem', federation: true, logLevel: 'info',
};

const synapsePlan = (settings: OrganisationPlan['settings']) => ({
  name: 'org-a', domain: 'org-a.test', address: '127.0.0.1', dir: '/x', tls: { certFile: '/c', chainFile: '/c', keyFile: '/k' },
  caFile: '/ca', dnsAddress: '127.0.0.10', resolvConf: '/r', productId: 'synapse', settings,
}) as unknown as OrganisationPlan;
const files: ConfigFiles = { log: '/l', logConfig: '/lc', secret: '/s', signingKey: '/sk', database: '/db', media: '/m' };
const tlsResources = (config: Record<string, unknown>) =>
  (config.listeners as Array<{ tls: boolean; resources: Array<{ names: string[] }> }>).find((l) => l.tls)!.resources[0]!.names;

describe('lab settings of the baseline negative controls', () => {
  it('stock Prosody requires c2s encryption and loads mod_admin_shell (the operator ends sessions through it)', () => {
    const text = prosodyConfig(prosody);
    expect(text).toContain('c2s_require_encryption = true');
    expect(text).toContain('"admin_shell"');
  });

  it('clientPlaintext makes Prosody\'s c2s encryption optional', () => {
    expect(prosodyConfig({ ...prosody, clientPlaintext: true })).toContain('c2s_require_encryption = false');
  });

  it('Synapse serves the client API on its TLS listener, except with clientPlaintext', () => {
    expect(tlsResources(homeserverConfig(synapsePlan({}), files))).toEqual(['client', 'federation']);
    expect(tlsResources(homeserverConfig(synapsePlan({ clientPlaintext: true }), files))).toEqual(['federation']);
  });

  it('Synapse keeps its default failed-login limit in the lab; stockRateLimits drops every relaxation; loginThrottling: false lifts all login limits', () => {
    const lab = homeserverConfig(synapsePlan({}), files);
    expect(lab.rc_login).not.toHaveProperty('failed_attempts');
    expect(lab.rc_message).toBeDefined();
    const stock = homeserverConfig(synapsePlan({ stockRateLimits: true }), files);
    expect(Object.keys(stock).filter((k) => k.startsWith('rc_'))).toEqual([]);
    const off = homeserverConfig(synapsePlan({ stockRateLimits: true, loginThrottling: false }), files);
    expect(Object.keys(off.rc_login as object).sort()).toEqual(['account', 'address', 'failed_attempts']);
  });
});
