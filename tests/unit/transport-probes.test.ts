import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { homeserverConfig, type ConfigFiles } from '../../harness/lab/native/synapse.ts';
import type { OrganisationPlan } from '../../harness/lab/native/adapter.ts';
import { prosodyConfig, type ProsodyConfig } from '../../harness/lab/native/prosody.ts';
import { canonicalJson } from '../../harness/probes/discovery.ts';

describe('Matrix canonical JSON (Appendices §3.1)', () => {
  it('sorts keys at every level, drops whitespace and keeps UTF-8 as is', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 'å', y: null }], c: true } })).toBe('{"a":{"c":true,"d":[2,{"y":null,"z":"å"}]},"b":1}');
  });

  it('is what an ed25519 signature over a server-keys object is checked against', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const body = { verify_keys: { 'ed25519:x': { key: 'k' } }, server_name: 'org-a.test', valid_until_ts: 1 };
    const signature = sign(null, Buffer.from(canonicalJson(body)), privateKey);
    const reordered = { valid_until_ts: 1, server_name: 'org-a.test', verify_keys: { 'ed25519:x': { key: 'k' } } };
    expect(verify(null, Buffer.from(canonicalJson(reordered)), publicKey, signature)).toBe(true);
  });

  it('refuses non-integer numbers, which canonical JSON does not allow', () => {
    expect(() => canonicalJson({ a: 1.5 })).toThrow(/integers only/);
  });
});

const prosody: ProsodyConfig = {
  domain: 'org-a.test', address: '127.0.0.1', dnsAddress: '127.0.0.10', dataDir: '/d', pidFile: '/p', certificatesDir: '/c',
  certificateFile: '/c/a.crt', keyFile: '/c/a.key', caFile: '/c/ca.pem', federation: true, logLevel: 'info',
};

describe('lab settings of the transport negative controls', () => {
  it('stock Prosody requires s2s encryption and sets no legacy TLS', () => {
    const text = prosodyConfig(prosody);
    expect(text).toContain('s2s_require_encryption = true');
    expect(text).toContain('s2s_secure_auth = true');
    expect(text).not.toContain('tlsv1+');
  });

  it('s2sRequireEncryption: false turns off both s2s_require_encryption and s2s_secure_auth (which implies it)', () => {
    const text = prosodyConfig({ ...prosody, s2sRequireEncryption: false });
    expect(text).toContain('s2s_require_encryption = false');
    expect(text).toContain('s2s_secure_auth = false');
  });

  it('s2sTlsMinVersion: TLSv1 opens the s2s listener to TLS 1.0 at OpenSSL security level 0', () => {
    expect(prosodyConfig({ ...prosody, s2sTlsMinVersion: 'TLSv1' })).toContain('s2s_ssl = { protocol = "tlsv1+"; ciphers = "DEFAULT:@SECLEVEL=0" }');
  });

  it('serverKeysExpired makes Synapse publish valid_until_ts a day in the past', () => {
    const plan = {
      name: 'org-a', domain: 'org-a.test', address: '127.0.0.1', dir: '/x', tls: { certFile: '/c', chainFile: '/c', keyFile: '/k' },
      caFile: '/ca', dnsAddress: '127.0.0.10', resolvConf: '/r', productId: 'synapse-keys-expired', settings: { serverKeysExpired: true },
    } as unknown as OrganisationPlan;
    const files: ConfigFiles = { log: '/l', logConfig: '/lc', secret: '/s', signingKey: '/sk', database: '/db', media: '/m' };
    expect(homeserverConfig(plan, files).key_refresh_interval).toBe(-86_400_000);
    expect(homeserverConfig({ ...plan, settings: {} }, files).key_refresh_interval).toBeUndefined();
  });

  it('wellKnownWrongPort serves the server well-known and adds a client-only TLS listener on 443', () => {
    const plan = {
      name: 'org-a', domain: 'org-a.test', address: '127.0.0.1', dir: '/x', tls: { certFile: '/c', chainFile: '/c', keyFile: '/k' },
      caFile: '/ca', dnsAddress: '127.0.0.10', resolvConf: '/r', productId: 'synapse-wellknown-wrong-port', settings: { wellKnownWrongPort: true },
    } as unknown as OrganisationPlan;
    const files: ConfigFiles = { log: '/l', logConfig: '/lc', secret: '/s', signingKey: '/sk', database: '/db', media: '/m' };
    const config = homeserverConfig(plan, files);
    expect(config.serve_server_wellknown).toBe(true);
    const listener = (config.listeners as Array<{ port: number; tls: boolean; resources: Array<{ names: string[] }> }>).find((l) => l.port === 443);
    expect(listener?.tls).toBe(true);
    expect(listener?.resources.flatMap((r) => r.names)).toEqual(['client']);
  });
});
