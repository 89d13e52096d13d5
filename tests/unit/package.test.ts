import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { getProfile, loadCatalogue } from '../../harness/catalogue/catalogue.ts';
import { loadProduct } from '../../harness/config/products.ts';
import type { LabDescription } from '../../harness/lab/types.ts';
import { createPackage } from '../../harness/package/create.ts';
import { keepLogs } from '../../harness/package/logs.ts';
import { writeProvenance } from '../../harness/package/provenance.ts';
import { REDACTED, Redactor, resolvableSecrets, secretRefsOf } from '../../harness/package/redact.ts';
import { verifyPackage } from '../../harness/package/verify.ts';
import { buildReport } from '../../harness/report/build.ts';
import { writeAll } from '../../harness/report/write.ts';
import { fedconf } from '../e2e/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'fedconf-package-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Known secrets, planted where a careless server or harness could leak them.
const planted = {
  sharedSecretFile: 'PLANTED-shared-secret-in-a-file-7f3a9c',
  sharedSecretEnv: 'PLANTED-shared-secret-from-env-51d2e8',
  password: 'PLANTED-password-of-a-precreated-account-c0ffee',
  accessToken: 'syt_YWxpY2U_PLANTEDtokenAbCdEf_0Xx1Yy',
  testPassword: 'PLANTED-random-test-password-9e8d7c', // one the harness never knew by value
};
process.env.FEDCONF_TEST_PLANTED_SECRET = planted.sharedSecretEnv;
process.env.FEDCONF_TEST_PLANTED_PASSWORD = planted.password;

const secretFile = join(work, 'registration_shared_secret');
writeFileSync(secretFile, `${planted.sharedSecretFile}\n`);
// A target declaration naming its secrets by reference, as the schema asks.
const targetFile = join(work, 'target.yaml');
writeFileSync(targetFile, `protocol: matrix\norganisations:\n  org-a:\n    provisioning: { method: synapse-shared-secret, adminUrl: "https://a.example", secret: env:FEDCONF_TEST_PLANTED_SECRET }\n  org-b:\n    provisioning: { method: pre-created, accounts: [{ address: "@u:b.example", password: env:FEDCONF_TEST_PLANTED_PASSWORD }] }\n`);
const lab = {
  provider: 'native', controls: [], caFile: '',
  organisations: {
    'org-a': { name: 'org-a', provisioning: { method: 'synapse-shared-secret', adminUrl: '', secret: { file: secretFile } } },
    'org-b': { name: 'org-b', provisioning: { method: 'pre-created', claimDir: '', accounts: [{ address: '@u:b.example', password: { env: 'FEDCONF_TEST_PLANTED_PASSWORD' } }] } },
    'org-c': { name: 'org-c', provisioning: { method: 'prosodyctl', configFile: '' } },
  },
} as unknown as LabDescription;

/** A run folder as `fedconf run` leaves it, with every secret planted in the raw server logs and in the evidence. */
function plantedRun(): string {
  const dir = join(work, 'reports', 'synapse', 'run-1');
  mkdirSync(join(dir, 'evidence'), { recursive: true });
  const catalogue = loadCatalogue();
  const report = buildReport({
    catalogue, profile: getProfile(catalogue, 'federation'), product: loadProduct('synapse', catalogue), runId: 'run-1', startedAt: new Date(0), endedAt: new Date(1), complete: true,
    tests: [{ id: 'f > dm', name: 'dm', file: 'suites/federation/fed-dm.test.ts', requirements: ['FED-DM'], status: 'FAILED', durationMs: 1,
      message: `ConformanceFailure: the server answered {"errcode":"M_FORBIDDEN","access_token":"${planted.accessToken}"} with ${planted.sharedSecretEnv}`, evidence: ['evidence/dm.txt'] }],
  });
  writeAll(dir, report);
  writeProvenance(dir, {
    fedconf: { version: '0.1.0', commit: 'abc', dirty: false }, node: 'v20', platform: 'linux', command: ['fedconf', 'run', '--target', targetFile],
    product: 'synapse', declarations: ['fixtures/products/synapse.yaml'], target: targetFile, profile: 'federation', certify: false,
  });
  writeFileSync(join(dir, 'evidence', 'dm.txt'), `SENT login {"type":"m.login.password","password":"${planted.testPassword}"}\nRECV Authorization: Bearer ${planted.accessToken}\n`);
  writeFileSync(join(dir, 'answers.csv'), 'id,answer\nFED-DM,Nej\n');
  // The server logs as the lab keeps them: redacted on the way into the run folder.
  const rawLogs = join(work, 'raw-logs');
  mkdirSync(rawLogs, { recursive: true });
  writeFileSync(join(rawLogs, 'homeserver.log'), [
    `INFO registration_shared_secret: ${planted.sharedSecretFile}`,
    `INFO POST /_synapse/admin/v1/register {"nonce":"n","username":"alice","password":"${planted.testPassword}","mac":"a1b2c3d4e5"}`,
    `INFO GET /_matrix/client/v3/sync?access_token=${planted.accessToken}&timeout=0`,
    `INFO login for @u:b.example with ${planted.password}`,
    'INFO synapse.access.http.8008 - 200 GET /_matrix/client/versions',
  ].join('\n'));
  const redactor = new Redactor(resolvableSecrets(secretRefsOf(lab)));
  expect(keepLogs(dir, [{ source: 'org-a', name: 'homeserver.log', file: join(rawLogs, 'homeserver.log') }], redactor)).toEqual(['logs/org-a/homeserver.log']);
  return dir;
}

async function unpack(archive: string): Promise<Map<string, string>> {
  const dir = mkdtempSync(join(work, 'x-'));
  await tar.extract({ file: archive, cwd: dir });
  const files = new Map<string, string>();
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else files.set(`${rel}${e.name}`, readFileSync(join(d, e.name), 'latin1'));
    }
  };
  walk(dir, '');
  return files;
}

const keys = generateKeyPairSync('ed25519');
const keyFile = join(work, 'key.pem');
const pubFile = join(work, 'pub.pem');
writeFileSync(keyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(pubFile, keys.publicKey.export({ type: 'spki', format: 'pem' }));
const runDir = plantedRun();
const archive = join(work, 'package.tar.gz');
await createPackage({ runDir, keyFile, out: archive });
const unpacked = await unpack(archive);

describe('secrets planted in a declaration, the logs and the evidence', () => {
  it('never survive in the run folder\'s logs', () => {
    const log = readFileSync(join(runDir, 'logs/org-a/homeserver.log'), 'utf8');
    for (const secret of Object.values(planted)) expect(log).not.toContain(secret);
    expect(log).toContain(`registration_shared_secret: ${REDACTED}`);
    expect(log).toContain('GET /_matrix/client/versions'); // the rest of the log is kept
  });

  it('never survive in any file of the package', () => {
    expect(unpacked.size).toBeGreaterThan(8);
    for (const [path, text] of unpacked) for (const secret of Object.values(planted)) expect(text, `${secret} in ${path}`).not.toContain(secret);
  });

  it('while the package holds the declarations with their env: references, the report in every format, answer sheet, evidence and logs', () => {
    const names = [...unpacked.keys()].map((p) => p.replace(/^[^/]+\//, ''));
    for (const f of ['README.md', 'MANIFEST.sha256', 'MANIFEST.sig', 'signing-key.pub.pem', 'declaration/synapse.yaml', 'declaration/target.yaml',
      'report/report.json', 'report/report.html', 'report/junit.xml', 'report/answers.csv', 'report/provenance.json', 'evidence/dm.txt', 'logs/org-a/homeserver.log']) expect(names).toContain(f);
    const target = [...unpacked].find(([p]) => p.endsWith('declaration/target.yaml'))![1];
    expect(target).toContain('env:FEDCONF_TEST_PLANTED_SECRET');
    const report = [...unpacked].find(([p]) => p.endsWith('report/report.json'))![1];
    expect(() => JSON.parse(report) as unknown).not.toThrow(); // redaction keeps JSON valid
    expect(report).toContain(`"access_token\\":\\"${REDACTED}`);
  });
});

/** Repacks the unpacked package after `change` edits its folder. */
async function tampered(change: (root: string) => void): Promise<string> {
  const dir = mkdtempSync(join(work, 't-'));
  await tar.extract({ file: archive, cwd: dir });
  const [root] = readdirSync(dir);
  change(join(dir, root!));
  const out = `${dir}.tar.gz`;
  await tar.create({ gzip: true, file: out, cwd: dir }, [root!]);
  return out;
}

describe('fedconf verify', () => {
  it('accepts the package as written, with the signer\'s key pinned or the embedded one', async () => {
    expect(await verifyPackage(archive, pubFile)).toMatchObject({ ok: true, problems: [] });
    const embedded = await verifyPackage(archive);
    expect(embedded.ok).toBe(true);
    expect(embedded.notes.join('\n')).toMatch(/key inside the package/);
  });

  it('names a changed file with expected and actual hash, an unexpected and a missing file', async () => {
    const bad = await tampered((root) => {
      writeFileSync(join(root, 'report/answers.csv'), 'id,answer\nFED-DM,Ja\n');
      writeFileSync(join(root, 'evidence/extra.txt'), 'added later');
      rmSync(join(root, 'logs/org-a/homeserver.log'));
    });
    const result = await verifyPackage(bad, pubFile);
    expect(result.ok).toBe(false);
    expect(result.problems).toHaveLength(3);
    expect(result.problems.join('\n')).toMatch(/changed file: report\/answers\.csv: expected sha256 [0-9a-f]{64}, actual [0-9a-f]{64}/);
    expect(result.problems.join('\n')).toMatch(/unexpected file not in the manifest: evidence\/extra\.txt/);
    expect(result.problems.join('\n')).toMatch(/missing file: logs\/org-a\/homeserver\.log/);
  });

  it('says the signature is invalid for an edited manifest, or for another signer\'s key', async () => {
    const edited = await tampered((root) => writeFileSync(join(root, 'MANIFEST.sha256'), readFileSync(join(root, 'MANIFEST.sha256'), 'utf8').replace(/^[0-9a-f]/, (c) => (c === '0' ? '1' : '0'))));
    expect((await verifyPackage(edited, pubFile)).problems.join('\n')).toMatch(/signature invalid/);
    const otherPub = join(work, 'other.pem');
    writeFileSync(otherPub, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const other = await verifyPackage(archive, otherPub);
    expect(other.problems).toEqual([expect.stringMatching(/^signature invalid: .*\(the key given\)/)]);
    expect(other.notes.join('\n')).toMatch(/names another key/);
  });

  it('exits 0 intact, 1 on a mismatch, 2 on bad input (CLI)', async () => {
    const bad = await tampered((root) => writeFileSync(join(root, 'README.md'), 'changed'));
    const notAnArchive = join(work, 'not.tar.gz');
    writeFileSync(notAnArchive, 'plain text');
    const [ok, mismatch, badInput] = await Promise.all([
      fedconf(['verify', archive, '--public-key', pubFile], work), fedconf(['verify', bad], work), fedconf(['verify', notAnArchive], work),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stdout).toMatch(/changed file: README\.md/);
    expect(badInput.code).toBe(2);
    expect(badInput.stderr).toMatch(/not a readable tar\.gz/);
  });
});
