import { describe, expect, it } from 'vitest';
import { retentionOf, secondsOf, type OrganisationPlan } from '../../harness/lab/native/adapter.ts';
import { prosodyConfig, type ProsodyConfig } from '../../harness/lab/native/prosody.ts';
import { homeserverConfig, type ConfigFiles } from '../../harness/lab/native/synapse.ts';

/** The lab's retention settings (RET-*) and their negative controls, as each adapter writes them. */
describe('lab settings of RET-POLICY / RET-KEEP', () => {
  it('the enforced lifetime is the one asked, the over-deletion one, or none when retention is off', () => {
    expect(retentionOf('x', {})).toBeUndefined();
    expect(retentionOf('x', { retentionSeconds: 30 })).toBe(30);
    expect(retentionOf('x', { retentionSeconds: 30, retentionEnforcedSeconds: 8 })).toBe(8);
    expect(retentionOf('x', { retentionSeconds: 30, retention: false })).toBeUndefined();
    expect(() => retentionOf('x', { retentionSeconds: 1.5 })).toThrow(/whole number/);
  });

  it('Synapse gets a retention section with short purge jobs; the off control writes enabled: false', () => {
    const plan = {
      name: 'org-a', domain: 'org-a.test', address: '127.0.0.1', dir: '/x', tls: { certFile: '/c', chainFile: '/c', keyFile: '/k' },
      caFile: '/ca', dnsAddress: '127.0.0.10', resolvConf: '/r', productId: 'synapse', settings: { retentionSeconds: 30 },
    } as unknown as OrganisationPlan;
    const files: ConfigFiles = { log: '/l', logConfig: '/lc', secret: '/s', signingKey: '/sk', database: '/db', media: '/m' };
    expect(homeserverConfig(plan, files).retention).toMatchObject({ enabled: true, default_policy: { max_lifetime: '30s' }, allowed_lifetime_max: '30s' });
    expect(homeserverConfig({ ...plan, settings: { retentionSeconds: 30, retentionEnforcedSeconds: 8 } }, files).retention).toMatchObject({ default_policy: { max_lifetime: '8s' }, allowed_lifetime_max: '8s' });
    expect(homeserverConfig({ ...plan, settings: { retentionSeconds: 30, retention: false } }, files).retention).toEqual({ enabled: false });
    expect(homeserverConfig({ ...plan, settings: {} }, files).retention).toBeUndefined();
  });

  it('Prosody gets mod_mam and mod_muc_mam with the expiry only when a lifetime is asked', () => {
    const prosody: ProsodyConfig = {
      domain: 'org-a.test', address: '127.0.0.1', dnsAddress: '127.0.0.10', dataDir: '/d', pidFile: '/p', certificatesDir: '/c',
      certificateFile: '/c/a.crt', keyFile: '/c/a.key', caFile: '/c/ca.pem', federation: true, logLevel: 'info',
    };
    expect(prosodyConfig(prosody)).not.toContain('mam');
    const kept = prosodyConfig({ ...prosody, archiveExpiresAfter: 30 });
    expect(kept).toContain('archive_expires_after = "30"');
    expect(kept).toContain('muc_log_expires_after = "30"');
    expect(kept).toContain('"muc_mam"');
    expect(prosodyConfig({ ...prosody, archiveExpiresAfter: 'never' })).toContain('archive_expires_after = "never"');
  });
});

describe('lab setting of RET-MEDIA (XMPP upload lifetime)', () => {
  it('Prosody\'s upload component gets http_file_share_expires_after only when a file lifetime is asked', () => {
    expect(secondsOf('x', {}, 'fileLifetimeSeconds')).toBeUndefined();
    expect(secondsOf('x', { fileLifetimeSeconds: 20 }, 'fileLifetimeSeconds')).toBe(20);
    expect(() => secondsOf('x', { fileLifetimeSeconds: 0 }, 'fileLifetimeSeconds')).toThrow(/whole number/);
    const prosody: ProsodyConfig = {
      domain: 'org-a.test', address: '127.0.0.1', dnsAddress: '127.0.0.10', dataDir: '/d', pidFile: '/p', certificatesDir: '/c',
      certificateFile: '/c/a.crt', keyFile: '/c/a.key', caFile: '/c/ca.pem', federation: true, logLevel: 'info',
    };
    expect(prosodyConfig(prosody)).not.toContain('http_file_share_expires_after');
    const config = prosodyConfig({ ...prosody, fileExpiresAfter: 20 });
    const upload = config.slice(config.indexOf('Component "upload.org-a.test" "http_file_share"'));
    expect(upload).toContain('  http_file_share_expires_after = 20');
    expect(prosodyConfig({ ...prosody, fileExpiresAfter: 20, fileUpload: false })).not.toContain('http_file_share');
  });
});
