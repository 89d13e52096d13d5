import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../harness/catalogue/catalogue.ts';
import { repoRoot } from '../../harness/config/paths.ts';
import { listProductIds, loadProduct } from '../../harness/config/products.ts';

const catalogue = loadCatalogue();
const templatesDir = join(repoRoot, 'fixtures', 'templates', 'products');
const templates = readdirSync(templatesDir).filter((n) => n.endsWith('.yaml')).sort();
const out = mkdtempSync(join(tmpdir(), 'fedconf-templates-'));

/** What an operator would write for each placeholder. */
const samples: Record<string, string> = {
  CLAIMED_REQUIREMENTS: 'FED-DISCOVERY, FED-TLS, FED-DM, FED-ROOM',
  CLAIMED_FEATURES: 'XEP-0045',
  ADMIN_API_URL: 'https://admin.myndighet-a.example',
  LOG_LOCATION: '/var/log/chat/server.log',
};

function fill(text: string, file: string): string {
  return text.replace(/__([A-Z0-9_]+?)__/g, (_, name: string) => {
    const value = samples[name];
    if (value === undefined) throw new Error(`${file}: placeholder __${name}__ has no sample value in this test`);
    return value;
  });
}

describe('product declaration templates (fixtures/templates/products)', () => {
  it('exist, one per product, and are not lab products', () => {
    expect(templates).toEqual(['cisco-xmpp.yaml', 'element-server-suite.yaml', 'icewarp.yaml', 'rocket-chat.yaml']);
    const ids = listProductIds();
    for (const name of templates) expect(ids).not.toContain(name.replace(/\.yaml$/, ''));
  });

  it.each(templates)('%s validates against the product schema once its placeholders are filled', (name) => {
    const text = readFileSync(join(templatesDir, name), 'utf8');
    expect(text).toMatch(/__[A-Z0-9_]+__/); // it is a template: something is left to the operator
    const file = join(out, name);
    writeFileSync(file, fill(text, name));
    const declaration = loadProduct(file, catalogue);
    expect(declaration.id).toBe(name.replace(/\.yaml$/, ''));
    expect(declaration.lab).toBeUndefined(); // no lab runs it: only an external target can
    expect(declaration.claims.supported).toEqual(['FED-DISCOVERY', 'FED-TLS', 'FED-DM', 'FED-ROOM']);
  });

  it.each(templates)('%s tells the operator what an external run needs, with secrets by env:NAME only', (name) => {
    const text = readFileSync(join(templatesDir, name), 'utf8');
    expect(text).toMatch(/^# external: /m);
    for (const topic of ['domain', 'clientUrl', 'test users', 'controls', 'env:NAME']) expect(text).toContain(topic);
    expect(text).toMatch(/seeds\/00[03]_[0-9a-f]+\.txt lines? \d+/); // where the eSam documents name it
    expect(text).not.toMatch(/password:\s*(?!env:)[^\s,}]+/); // no literal password
  });
});
