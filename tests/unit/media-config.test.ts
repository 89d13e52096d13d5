import { describe, expect, it } from 'vitest';
import type { OrganisationPlan } from '../../harness/lab/native/adapter.ts';
import { ejabberdConfig } from '../../harness/lab/native/ejabberd.ts';
import { prosodyConfig, type ProsodyConfig } from '../../harness/lab/native/prosody.ts';
import { homeserverConfig, type ConfigFiles } from '../../harness/lab/native/synapse.ts';

/** The lab's file-upload services (FED-FILE) and the negative control that switches them off. */
describe('lab settings of FED-FILE', () => {
  const prosody: ProsodyConfig = {
    domain: 'org-a.test', address: '127.0.0.1', dnsAddress: '127.0.0.10', dataDir: '/d', pidFile: '/p', certificatesDir: '/c',
    certificateFile: '/c/a.crt', keyFile: '/c/a.key', caFile: '/c/ca.pem', federation: true, logLevel: 'info',
  };

  it('stock Prosody has the upload component on HTTPS 5281 and vcard-temp; fileUpload false drops the component', () => {
    const stock = prosodyConfig(prosody);
    expect(stock).toContain('Component "upload.org-a.test" "http_file_share"');
    expect(stock).toContain('https_ports = { 5281 }');
    expect(stock).toContain('"vcard_legacy"');
    const off = prosodyConfig({ ...prosody, fileUpload: false });
    expect(off).not.toContain('http_file_share');
    expect(off).toContain('https_ports = {  }');
  });

  it('ejabberd gets mod_http_upload behind /upload on an HTTPS listener of its own address', () => {
    const stock = {
      listen: [{ port: 5222, module: 'ejabberd_c2s' }, { port: 5269, module: 'ejabberd_s2s_in' }],
      modules: { mod_muc: {} }, shaper_rules: {},
    };
    const config = ejabberdConfig(stock, { domain: 'org-a.test', address: '127.0.0.1', certificateFile: '/c', keyFile: '/k', caFile: '/ca', federation: true, uploadDir: '/u' });
    expect(config.listen).toContainEqual({ port: 5443, ip: '127.0.0.1', module: 'ejabberd_http', tls: true, request_handlers: { '/upload': 'mod_http_upload' } });
    expect((config.modules as Record<string, unknown>).mod_http_upload).toEqual({ put_url: 'https://@HOST@:5443/upload', docroot: '/u', hosts: ['upload.org-a.test'] });
  });

  it('fileUpload false switches Synapse\'s media repository off', () => {
    const plan = {
      name: 'org-a', domain: 'org-a.test', address: '127.0.0.1', dir: '/x', tls: { certFile: '/c', chainFile: '/c', keyFile: '/k' },
      caFile: '/ca', dnsAddress: '127.0.0.10', resolvConf: '/r', productId: 'synapse-upload-off', settings: { fileUpload: false },
    } as unknown as OrganisationPlan;
    const files: ConfigFiles = { log: '/l', logConfig: '/lc', secret: '/s', signingKey: '/sk', database: '/db', media: '/m' };
    expect(homeserverConfig(plan, files).enable_media_repo).toBe(false);
    expect(homeserverConfig({ ...plan, settings: {} }, files).enable_media_repo).toBeUndefined();
  });
});
