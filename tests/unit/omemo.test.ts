import { describe, expect, it } from 'vitest';
import { prosodyConfig, type ProsodyConfig } from '../../harness/lab/native/prosody.ts';
import { bundleNode, fingerprintOf, NODE_DEVICELIST } from '../../harness/drivers/xmpp-omemo.ts';

const prosody: ProsodyConfig = {
  domain: 'org-a.test', address: '127.0.0.1', dnsAddress: '127.0.0.10', dataDir: '/d', pidFile: '/p', certificatesDir: '/c',
  certificateFile: '/c/a.crt', keyFile: '/c/a.key', caFile: '/c/ca.pem', federation: true, logLevel: 'info',
};

describe('OMEMO (XEP-0384 0.3) in the lab', () => {
  it('stock Prosody loads mod_pep; the PEP-off control drops it and the modules that need it', () => {
    expect(prosodyConfig(prosody)).toMatch(/modules_enabled = \{[^}]*"pep"/);
    const off = prosodyConfig({ ...prosody, pep: false });
    for (const module of ['"pep"', '"vcard4"', '"vcard_legacy"']) expect(off).not.toContain(module);
  });

  it('uses the 0.3 node names and shows the 32-byte identity key as the hex fingerprint clients print', () => {
    expect(NODE_DEVICELIST).toBe('eu.siacs.conversations.axolotl.devicelist');
    expect(bundleNode(42)).toBe('eu.siacs.conversations.axolotl.bundles:42');
    const key = new Uint8Array([5, ...Array.from({ length: 32 }, (_, i) => i)]); // 0x05 type byte + Curve25519 key
    expect(fingerprintOf(key.buffer)).toBe('00010203 04050607 08090a0b 0c0d0e0f 10111213 14151617 18191a1b 1c1d1e1f');
  });
});
