import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../harness/catalogue/catalogue.ts';
import { listProductIds, loadProduct } from '../../harness/config/products.ts';

const catalogue = loadCatalogue();
const dir = mkdtempSync(join(tmpdir(), 'fedconf-decl-'));
const declaration = (name: string, text: string) => {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
};
const valid = `id: acme
vendor: ACME
name: ACME Chat
protocol: xmpp
claims: { supported: [FED-DM] }
provisioning: { method: pre-created }
admin: {}
logs: {}
`;

describe('product declarations', () => {
  it('every committed declaration validates against the schema', () => {
    expect(listProductIds()).toEqual(expect.arrayContaining(['synapse', 'prosody', 'synapse-federation-off', 'prosody-federation-off']));
    for (const id of listProductIds()) expect(loadProduct(id, catalogue).id).toBe(id);
  });

  it('a valid vendor declaration loads', () => {
    expect(loadProduct(declaration('ok', valid), catalogue).name).toBe('ACME Chat');
  });

  it('an unknown field is named with the file and told to be removed', () => {
    const file = declaration('extra', `${valid}colour: blue\n`);
    expect(() => loadProduct(file, catalogue)).toThrow(/extra\.yaml[\s\S]*unknown field "colour"/);
  });

  it('a wrong protocol names the field and the allowed values', () => {
    const file = declaration('proto', valid.replace('protocol: xmpp', 'protocol: irc'));
    expect(() => loadProduct(file, catalogue)).toThrow(/field protocol: must be one of "matrix", "xmpp"/);
  });

  it('a claim of a requirement that does not exist names the field and the id', () => {
    const file = declaration('claim', valid.replace('[FED-DM]', '[FED-DM, FED-TELEPATHY]'));
    expect(() => loadProduct(file, catalogue)).toThrow(/field claims\.supported: "FED-TELEPATHY" is not a requirement id/);
  });

  it('a YAML syntax error names the file and line', () => {
    const file = declaration('syntax', 'id: [unclosed\n');
    expect(() => loadProduct(file, catalogue)).toThrow(/syntax\.yaml[\s\S]*YAML syntax/);
  });

  it('an unknown product id lists the known ones', () => {
    expect(() => loadProduct('synapce', catalogue)).toThrow(/no product declaration "synapce"[\s\S]*Known products: .*synapse/);
  });
});
