import { afterAll, inject } from 'vitest';
import type { LabSettings } from '../../harness/lab/native/adapter.ts';
import type { OrgName } from '../../harness/lab/types.ts';
import { Session } from '../../harness/scenario/scenario.ts';

/**
 * Lab settings a retention file changes for its own scenarios (a lifetime, a redaction period), given back after
 * them: the returned `reconfigure` records each organisation it changed, and after the file's last scenario each of
 * those is restarted with its declared settings, so the suites after it (baseline) meet the product as declared.
 */
export function reconfiguredForThisFile(): (s: Session, org: OrgName, settings: LabSettings) => Promise<void> {
  const changed = new Set<OrgName>();
  afterAll(async () => {
    const lab = inject('lab');
    if (changed.size === 0 || !lab.controls.includes('reconfigure')) return;
    const s = new Session(lab);
    for (const org of changed) await s.control('reconfigure', org, {});
  });
  return async (s, org, settings) => {
    await s.control('reconfigure', org, settings);
    changed.add(org);
  };
}
