import { describe, expect, it } from 'vitest';
import { refusedKeyPaths } from '../../harness/lab/native/federation-filter.ts';

describe('the federation filter of the E2E-DM "key endpoints disabled" control', () => {
  it('refuses exactly the endpoints where a peer fetches device keys', () => {
    const refused = [
      '/_matrix/federation/v1/user/keys/query',
      '/_matrix/federation/v1/user/keys/claim',
      '/_matrix/federation/unstable/org.matrix.msc3983/user/keys/claim',
      '/_matrix/federation/v1/user/devices/%40alice%3Aorg-a.test',
    ];
    const passed = [
      '/_matrix/federation/v1/send/1700000000000',
      '/_matrix/federation/v1/make_join/%21room%3Aorg-a.test/%40bob%3Aorg-b.test',
      '/_matrix/federation/v2/invite/%21room%3Aorg-a.test/%24event',
      '/_matrix/federation/v1/user/openid/userinfo',
      '/_matrix/federation/v1/query/profile',
      '/_matrix/key/v2/server',
      '/_matrix/client/v3/keys/query',
    ];
    for (const path of refused) expect(refusedKeyPaths.test(path), path).toBe(true);
    for (const path of passed) expect(refusedKeyPaths.test(path), path).toBe(false);
  });
});
