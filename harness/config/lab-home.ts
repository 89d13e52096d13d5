import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Prosody and ejabberd run as their own system users, so they reach the lab's files only if every parent folder
 * lets others through (mode o+x). A clone under /root or a 0700 temporary folder does not: the lab's running state
 * then lives in a folder of its own under /var/tmp instead, named after the clone so each clone keeps its own.
 * Reads no environment variables (tests/worker-lab.ts sets them from this).
 */
export function defaultLabHome(repoRoot: string): string {
  const inClone = join(repoRoot, '.lab');
  if (reachableByOthers(inClone)) return inClone;
  return join('/var/tmp', `fedconf-lab-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 12)}`);
}

/** Whether every existing folder on the way to `dir` (itself included) lets other users through. */
export function reachableByOthers(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    try {
      if ((statSync(at).mode & 0o001) === 0) return false;
    } catch {
      // not created yet: mkdirReachable will create it reachable
    }
    if (dirname(at) === at) return true;
  }
}

/** mkdir -p whose new folders are 0755 whatever the umask (a umask of 077 would hide them from the servers' users). */
export function mkdirReachable(dir: string): void {
  const missing: string[] = [];
  for (let at = dir; !existsSync(at); at = dirname(at)) missing.unshift(at);
  for (const at of missing) {
    mkdirSync(at);
    chmodSync(at, 0o755);
  }
}
