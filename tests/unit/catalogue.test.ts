import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getProfile, loadCatalogue } from '../../harness/catalogue/catalogue.ts';
import { repoRoot } from '../../harness/config/paths.ts';

const catalogue = loadCatalogue();

describe('the requirement catalogue', () => {
  const shared = join(repoRoot, '..', 'shared', 'requirements.md');
  it.runIf(existsSync(shared))('holds every requirement id of shared/requirements.md with its level', () => {
    const rows = [...readFileSync(shared, 'utf8').matchAll(/^\| ((?:FED|GST|E2E|RET|AUD|SEC)-[A-Z0-9-]+) \| (MUST|SHOULD|MAY) \|/gm)];
    expect(rows.length).toBeGreaterThan(40);
    for (const [, id, level] of rows) expect(catalogue.requirements.get(id!)?.level, id).toBe(level);
    expect([...catalogue.requirements.keys()].sort()).toEqual(rows.map((r) => r[1]).sort());
  });

  it('has every profile the issue names, and annex-e covers the whole catalogue', () => {
    for (const id of ['federation', 'guest-access', 'e2ee', 'retention', 'audit', 'baseline', 'annex-e']) expect(catalogue.profiles.has(id), id).toBe(true);
    expect(getProfile(catalogue, 'annex-e').requirements.length).toBe(catalogue.requirements.size);
  });

  it('includes the baseline rows in every profile', () => {
    for (const profile of catalogue.profiles.values()) {
      expect(profile.requirements.map((r) => r.id), profile.id).toContain('SEC-BAD-INPUT');
    }
  });

  it('names the known profiles when asked for an unknown one', () => {
    expect(() => getProfile(catalogue, 'federaton')).toThrow(/unknown profile "federaton"[\s\S]*Known profiles: .*federation/);
  });
});
