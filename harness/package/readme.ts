import type { Report } from '../report/model.ts';
import type { Provenance } from './provenance.ts';

const shellQuote = (arg: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`);

/** The package's README.md: what was run, on what, with which result, and how to run it again. */
export function reproduceReadme(report: Report, provenance: Provenance | undefined, files: string[], declarations: string[]): string {
  const p = provenance;
  const orgs = report.run.lab.organisations.map((o) => `| ${o.name} | ${o.role} | ${o.product} | ${o.implementation} ${o.version} | ${o.domain} |`);
  const line = (argv: string[]) => argv.map(shellQuote).join(' ').replace(/^fedconf /, 'npx fedconf ');
  // A merged report: each shard's command (one CI job each), then the merge.
  const commands = p ? [...(p.mergedFrom ?? []).map((s) => line(s.command)), line(p.command)] : [`npx fedconf run --product ${report.product.id} --profile ${report.profile.id}`];
  const profiles = report.profiles.map((v) => `- profile **${v.id}**: ${v.verdict} (MUST ${v.must.yes}/${v.must.total} Yes, SHOULD ${v.should.yes}/${v.should.total} Yes)`);
  const totals = Object.entries(report.totals).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ') || 'no tests';
  return `# fedconf certification package — ${report.product.name} ${report.product.version}

Product **${report.product.id}** (${report.product.vendor} — ${report.product.name}, ${report.product.protocol}), version as the
running server reported it: **${report.product.version}**. Profile **${report.profile.id}** (${report.profile.title}).
Run ${report.run.id}, ${report.run.status}, ${report.run.startedAt} – ${report.run.endedAt ?? '(not ended)'}.
${p?.certify ? 'Certification mode: yes (no test left out by name, no skipped or expected-failure scenario counted).' : 'Certification mode: no.'}
${p?.testNamePattern ? `Only tests whose name matches \`${p.testNamePattern}\` ran.\n` : ''}${p?.shard ? `This is shard ${p.shard.index}/${p.shard.count} of the suite's test files.\n` : ''}
## Result

${profiles.join('\n')}
- tests: ${totals}

## What ran

| organisation | role | product | implementation and version | domain |
|---|---|---|---|---|
${orgs.join('\n')}

- fedconf ${p?.fedconf.version ?? report.suite.version}, commit \`${p?.fedconf.commit ?? 'unknown'}\`${p?.fedconf.dirty ? ' (with uncommitted changes to tracked files)' : ''}
- Node ${p?.node ?? 'unknown'} on ${p?.platform ?? 'unknown'}; lab provider: ${report.run.lab.provider}
- declarations: ${declarations.map((d) => `\`${d}\``).join(', ') || '(none found)'} (copies in \`declaration/\`)

## Reproduce

\`\`\`sh
git clone <fedconf repository> fedconf && cd fedconf
git checkout ${p?.fedconf.commit ?? '<commit>'}
npm ci
${commands.join('\n')}
\`\`\`

Secrets are never in this package: declarations name them only as \`env:NAME\`; export those variables
before the run. Logs and evidence were redacted (shared secrets, passwords, access tokens → \`[REDACTED]\`).

## Verify

\`\`\`sh
npx fedconf verify <this archive> --public-key <the signer's public key, obtained separately>
# or by hand, inside the unpacked folder:
sha256sum -c MANIFEST.sha256
base64 -d MANIFEST.sig > /tmp/manifest.sig
openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in MANIFEST.sha256 -sigfile /tmp/manifest.sig
\`\`\`

\`MANIFEST.sha256\` lists the SHA-256 of every file below except itself, \`MANIFEST.sig\` (Ed25519 signature
over the manifest's bytes, base64) and \`signing-key.pub.pem\` (the signer's public key; pin it with
\`--public-key\` — a key inside the package only proves the package is consistent with itself).

## Files

${files.map((f) => `- \`${f}\``).join('\n')}
`;
}
