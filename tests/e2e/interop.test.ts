import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InteropMatrix } from '../../harness/report/interop.ts';
import { fedconf, labProcessesLeft } from './cli.ts';

const stock = { matrix: ['dendrite', 'synapse'], xmpp: ['ejabberd', 'prosody'] } as const;

describe.each(['matrix', 'xmpp'] as const)('fedconf interop --protocol %s', (protocol) => {
  it('runs every ordered pair of lab products with real verdicts and links each cell to its evidence', async () => {
    const reportsDir = mkdtempSync(join(tmpdir(), `fedconf-interop-${protocol}-`));
    // A handful of scenarios per pair keeps the matrix quick; `fedconf interop` without -t runs the whole profile.
    const result = await fedconf(['interop', '--protocol', protocol, '-t', 'FED-(DM|ROOM|DELETE|FILE|PRESENCE):'], reportsDir);
    const [runDir] = readdirSync(join(reportsDir, 'interop'));
    const matrix = JSON.parse(readFileSync(join(reportsDir, 'interop', runDir!, 'matrix.json'), 'utf8')) as InteropMatrix;

    expect([...matrix.products].sort()).toEqual([...stock[protocol]]);
    expect(matrix.cells).toHaveLength(4);
    for (const cell of matrix.cells) {
      expect(cell.status, `${cell.orgA.product} × ${cell.orgB.product}: ${cell.findings.join('\n')}\n${result.stderr.slice(-2000)}`).not.toBe('error');
      expect(readFileSync(join(reportsDir, 'interop', runDir!, cell.report), 'utf8')).toContain('<h2>Tested against</h2>');
      // Cross-vendor pairs evidence FED-INTEROP; same-vendor pairs cannot.
      if (cell.orgA.product !== cell.orgB.product) expect(cell.answers['FED-INTEROP'], `${cell.orgA.product} × ${cell.orgB.product}`).toBeDefined();
      else expect(cell.answers['FED-INTEROP']).toBeUndefined();
    }
    expect(readFileSync(join(reportsDir, 'interop', runDir!, 'matrix.html'), 'utf8')).toMatch(/<table>/);
    expect(labProcessesLeft()).toEqual([]);
  });
});
