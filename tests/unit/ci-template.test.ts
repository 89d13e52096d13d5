import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { templatesDir } from '../../harness/config/paths.ts';

interface Step { name?: string; uses?: string; run?: string; if?: string }
const file = join(templatesDir, 'ci', 'fedconf-conformance.yml');
const workflow = parse(readFileSync(file, 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
const steps = Object.values(workflow.jobs)[0]!.steps;
const script = (pattern: RegExp) => steps.find((s) => s.run && pattern.test(s.run))?.run;

// The example workflow cannot run here (no GitHub runner): check what can be checked without one.
describe('the example CI workflow (fixtures/templates/ci/)', () => {
  it('runs a profile, packages and uploads the run, and gates on `fedconf diff` against the baseline', () => {
    expect(script(/npx fedconf run --product "\$PRODUCT" --profile "\$PROFILE"/)).toBeDefined();
    expect(script(/npx fedconf package /)).toBeDefined();
    expect(steps.some((s) => s.uses?.startsWith('actions/upload-artifact@'))).toBe(true);
    const diff = script(/npx fedconf diff "\$BASELINE"/)!;
    expect(diff).toMatch(/exit \$code\s*$/); // the diff's own exit code (1 on regression) fails the job
  });

  it('has shell steps bash can parse', () => {
    for (const step of steps.filter((s) => s.run)) {
      const text = step.run!.replace(/\$\{\{[^}]*\}\}/g, 'X'); // GitHub expressions are substituted before bash sees them
      expect(() => execFileSync('bash', ['-n'], { input: text }), step.name).not.toThrow();
    }
  });
});
