import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allowListOf, type OrganisationPlan } from '../../harness/lab/native/adapter.ts';
import { dendriteAdapter } from '../../harness/lab/native/dendrite.ts';
import { ejabberdConfig } from '../../harness/lab/native/ejabberd.ts';
import { fixedHostGuard, prosodyConfig, type ProsodyConfig } from '../../harness/lab/native/prosody.ts';
import { homeserverConfig, type ConfigFiles } from '../../harness/lab/native/synapse.ts';

const allowList = ['org-b.test', 'conference.org-b.test'];

describe('the federation allow-list lab setting (FED-POLICY)', () => {
  it('is dropped by the negative control and refused when it is not a list of domains', () => {
    expect(allowListOf('x', { federationAllowList: allowList })).toEqual(allowList);
    expect(allowListOf('x', { federationAllowList: allowList, federationAllowListApplied: false })).toBeUndefined();
    expect(allowListOf('x', {})).toBeUndefined();
    expect(() => allowListOf('x', { federationAllowList: 'org-b.test' as unknown as string[] })).toThrow(/list of domain names/);
  });

  it('Synapse: federation_domain_whitelist with its own domain; federation off still wins', () => {
    const plan = { name: 'org-a', domain: 'org-a.test', address: '127.0.0.1', dir: '/x', tls: { chainFile: '/c', keyFile: '/k' }, caFile: '/ca',
      settings: { federationAllowList: ['org-b.test'] } } as unknown as OrganisationPlan;
    const files: ConfigFiles = { log: '/l', logConfig: '/lc', secret: '/s', signingKey: '/sk', database: '/db', media: '/m' };
    expect(homeserverConfig(plan, files).federation_domain_whitelist).toEqual(['org-a.test', 'org-b.test']);
    expect(homeserverConfig({ ...plan, settings: { ...plan.settings, federationAllowListApplied: false } }, files).federation_domain_whitelist).toBeUndefined();
    expect(homeserverConfig({ ...plan, settings: { ...plan.settings, federation: false } }, files).federation_domain_whitelist).toEqual([]);
  });

  it('Prosody: the fixed mod_host_guard guards the domain and its MUC service', () => {
    const base: ProsodyConfig = { domain: 'org-a.test', address: '127.0.0.1', dnsAddress: '127.0.0.10', dataDir: '/d', pidFile: '/p',
      certificatesDir: '/c', certificateFile: '/c/a.crt', keyFile: '/c/a.key', caFile: '/c/ca.pem', federation: true, logLevel: 'info' };
    expect(prosodyConfig(base)).not.toContain('host_guard');
    const text = prosodyConfig({ ...base, federationAllowList: allowList, pluginDir: '/m' });
    expect(text).toContain('plugin_paths = { "/m" }');
    expect(text).toMatch(/modules_enabled = \{[^}]*"host_guard_fixed"/);
    expect(text).toContain('host_guard_blockall = { "org-a.test"; "conference.org-a.test" }');
    expect(text).toContain('host_guard_blockall_exceptions = { "org-b.test"; "conference.org-b.test" }');
    expect(fixedHostGuard('x\nlocal config = configmanager\ny')).toContain('local config = require "core.configmanager"');
    expect(() => fixedHostGuard('something else')).toThrow(/no longer has/);
    const debian = '/usr/lib/prosody/modules/mod_host_guard/mod_host_guard.lua';
    if (existsSync(debian)) expect(fixedHostGuard(readFileSync(debian, 'utf8'))).not.toMatch(/= configmanager\b/);
  });

  it('ejabberd: an ACL of the listed servers as the s2s_access rule, keeping the stock ACLs', () => {
    const stock = { listen: [{ port: 5222, module: 'ejabberd_c2s' }, { port: 5269, module: 'ejabberd_s2s_in' }], modules: { mod_muc: {} },
      shaper_rules: {}, acl: { local: { user_regexp: '' } }, access_rules: { local: { allow: 'local' } } };
    const c = { domain: 'org-a.test', address: '127.0.0.1', certificateFile: '/c', keyFile: '/k', caFile: '/ca', federation: true, uploadDir: '/u' };
    expect(ejabberdConfig(stock, c).s2s_access).toBeUndefined();
    const config = ejabberdConfig(stock, { ...c, federationAllowList: allowList });
    expect(config.s2s_access).toBe('s2s_allowed');
    expect(config.acl).toEqual({ local: { user_regexp: '' }, federation_allowed: { server: allowList }, organisation: { server: 'org-a.test' } });
    expect(config.access_rules).toEqual({ local: { allow: 'local' }, muc_create: { allow: 'organisation' }, s2s_allowed: { allow: 'federation_allowed' } });
  });

  it('Dendrite declares it has no allow-list, with the reason the report gives', () => {
    expect(dendriteAdapter.lacks?.federationAllowList).toMatch(/no federation allow-list/);
  });
});
