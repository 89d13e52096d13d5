import { describe, expect, it } from 'vitest';
import { compareDeclaration, type Observation } from '../../harness/declaration/compare.ts';

const observed = (entries: Record<string, Observation>) => new Map(Object.entries(entries));
const shown = (detail: string): Observation => ({ shown: true, detail });
const absent = (detail: string): Observation => ({ shown: false, detail });

describe('the declaration check compares claims with what the server shows', () => {
  it('passes when every observable claim is shown, and lists the claims no probe can see', () => {
    const result = compareDeclaration('xmpp', new Set(['XEP-0045', 'FED-DM', 'RFC 6120']), new Set(), observed({
      muc: shown('conference.org-a.test lists http://jabber.org/protocol/muc'),
      'client-tls': shown('logged in over STARTTLS'),
    }));
    expect(result.status).toBe('PASSED');
    expect(result.checks.map((c) => [c.feature, c.status])).toEqual([['client-tls', 'PASSED'], ['muc', 'PASSED']]);
    expect(result.notObservable).toEqual(['FED-DM']);
    expect(result.warnings).toEqual([]);
  });

  it('fails a claimed capability the server does not show, naming the claim', () => {
    const result = compareDeclaration('xmpp', new Set(['FED-FILE']), new Set(), observed({ upload: absent('urn:xmpp:http:upload:0 not listed by conference.org-a.test') }));
    expect(result.status).toBe('FAILED');
    expect(result.checks).toEqual([expect.objectContaining({ feature: 'upload', claims: ['FED-FILE'], status: 'FAILED' })]);
  });

  it('warns, without failing, about a capability shown but not claimed (or declared unsupported)', () => {
    const result = compareDeclaration('xmpp', new Set(), new Set(['XEP-0280']), observed({
      carbons: shown('org-a.test lists urn:xmpp:carbons:2'),
      ping: shown('org-a.test lists urn:xmpp:ping'),
      mam: absent('not listed'),
    }));
    expect(result.status).toBe('PASSED');
    expect(result.warnings.map((w) => [w.feature, w.claims])).toEqual([['ping', ['XEP-0199']], ['carbons', ['XEP-0280']]]);
  });

  it('is ERROR, never PASSED or FAILED, when a claimed feature could not be probed', () => {
    const result = compareDeclaration('matrix', new Set(['FED-FILE']), new Set(), observed({ 'media-config': { shown: 'error', detail: 'connection refused' } }));
    expect(result.status).toBe('ERROR');
    const missing = compareDeclaration('matrix', new Set(['E2E-BACKUP']), new Set(), new Map());
    expect(missing.checks[0]).toMatchObject({ feature: 'key-backup', status: 'ERROR' });
  });

  it('checks claimed Matrix spec versions against /_matrix/client/versions, and warns when none is claimed', () => {
    const versions = observed({
      'client-api': shown('GET /_matrix/client/versions → 200'),
      'spec:v1.1': shown('lists v1.1'), 'spec:v1.2': shown('lists v1.2'),
    });
    const result = compareDeclaration('matrix', new Set(['client-server API', 'client-server API v1.2', 'client-server API v1.11']), new Set(), versions);
    expect(result.checks.filter((c) => c.feature.startsWith('spec:')).map((c) => [c.claims[0], c.status]))
      .toEqual([['client-server API v1.2', 'PASSED'], ['client-server API v1.11', 'FAILED']]);
    expect(result.status).toBe('FAILED');
    const unclaimed = compareDeclaration('matrix', new Set(['client-server API']), new Set(), versions);
    expect(unclaimed.status).toBe('PASSED');
    expect(unclaimed.warnings).toEqual([expect.objectContaining({ claims: ['client-server API v1.2'] })]);
  });

  it('does not tie requirement ids to spec versions: the scenarios decide those', () => {
    const result = compareDeclaration('matrix', new Set(['FED-EDIT', 'FED-REACT']), new Set(), observed({ 'spec:v1.2': shown('lists v1.2') }));
    expect(result.checks).toEqual([]);
    expect(result.notObservable).toEqual(['FED-EDIT', 'FED-REACT']);
  });
});
