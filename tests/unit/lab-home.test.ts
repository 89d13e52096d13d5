import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultLabHome, mkdirReachable, reachableByOthers } from '../../harness/config/lab-home.ts';

/** Prosody and ejabberd run as their own users: the lab's run folder must be reachable by them wherever the clone is. */
const base = mkdtempSync(join(tmpdir(), 'fedconf-lab-home-test-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('where the lab keeps its running state', () => {
  it('is .lab in a clone whose parent folders let other users through', () => {
    chmodSync(base, 0o755);
    expect(defaultLabHome(join(base, 'clone'))).toBe(join(base, 'clone', '.lab'));
  });

  it('moves to a folder of its own under /var/tmp, one per clone, when a parent keeps others out (a clone under /root, a mktemp -d folder)', () => {
    chmodSync(base, 0o700);
    const home = defaultLabHome(join(base, 'clone'));
    expect(home).toMatch(/^\/var\/tmp\/fedconf-lab-[0-9a-f]{12}$/);
    expect(defaultLabHome(join(base, 'other-clone'))).not.toBe(home);
    expect(defaultLabHome(join(base, 'clone'))).toBe(home);
    chmodSync(base, 0o755);
  });

  it('creates its folders reachable whatever the umask', () => {
    const old = process.umask(0o077);
    try {
      const dir = join(base, 'a', 'b', 'run');
      mkdirReachable(dir);
      for (const d of [join(base, 'a'), join(base, 'a', 'b'), dir]) expect(statSync(d).mode & 0o777).toBe(0o755);
      expect(reachableByOthers(dir)).toBe(true);
    } finally {
      process.umask(old);
    }
  });
});
