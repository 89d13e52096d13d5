import { describe, expect, it } from 'vitest';
import type { OrganisationPlan } from '../../harness/lab/native/adapter.ts';
import { ejabberdConfig } from '../../harness/lab/native/ejabberd.ts';
import { homeserverConfig, type ConfigFiles } from '../../harness/lab/native/synapse.ts';

/** The lab settings RET-REDACT asks (and its negative control), as the adapters write them. */
describe('lab settings of RET-REDACT', () => {
  const plan = {
    name: 'org-a', domain: 'org-a.test', address: '127.0.0.1', dir: '/x', tls: { certFile: '/c', chainFile: '/c', keyFile: '/k' },
    caFile: '/ca', dnsAddress: '127.0.0.10', resolvConf: '/r', productId: 'synapse', settings: {},
  } as unknown as OrganisationPlan;
  const files: ConfigFiles = { log: '/l', logConfig: '/lc', secret: '/s', signingKey: '/sk', database: '/db', media: '/m' };

  it('Synapse gets the asked redaction_retention_period; the control keeps redacted content forever (null)', () => {
    expect(homeserverConfig(plan, files)).not.toHaveProperty('redaction_retention_period');
    expect(homeserverConfig({ ...plan, settings: { redactionRetentionSeconds: 10 } }, files).redaction_retention_period).toBe('10s');
    expect(homeserverConfig({ ...plan, settings: { redactionRetentionSeconds: 10, redactionPurge: false } }, files).redaction_retention_period).toBeNull();
    expect(() => homeserverConfig({ ...plan, settings: { redactionRetentionSeconds: 0 } }, files)).toThrow(/whole number/);
  });

  it('ejabberd archives messages, rooms included, only when messageArchive is asked', () => {
    const stock = {
      listen: [{ port: 5222, module: 'ejabberd_c2s' }, { port: 5269, module: 'ejabberd_s2s_in' }],
      modules: { mod_muc: { default_room_options: { persistent: true } } }, shaper_rules: {},
    };
    const c = { domain: 'org-a.test', address: '127.0.0.1', certificateFile: '/c', keyFile: '/k', caFile: '/ca', federation: true, uploadDir: '/u' };
    expect(ejabberdConfig(stock, c).modules).not.toHaveProperty('mod_mam');
    const modules = ejabberdConfig(stock, { ...c, messageArchive: true }).modules as Record<string, Record<string, unknown>>;
    expect(modules.mod_mam).toEqual({ assume_mam_usage: true, default: 'always' });
    expect(modules.mod_muc?.default_room_options).toEqual({ persistent: true, mam: true });
  });
});
