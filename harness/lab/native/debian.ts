import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Progress } from './adapter.ts';

const run = promisify(execFile);

async function packageInstalled(name: string): Promise<boolean> {
  try {
    const { stdout } = await run('dpkg-query', ['-W', '-f=${Status}', name]);
    return stdout.trim() === 'install ok installed';
  } catch {
    return false;
  }
}

/** One `apt-get update` per process, however many adapters install packages. */
let aptUpdated = false;

/**
 * Installs whichever of `packages` are missing (idempotent: installed ones are skipped) and returns the
 * ones it installed, so the caller can undo side effects of a fresh install (a system service it started).
 */
export async function installDebianPackages(adapter: string, packages: readonly string[], progress: Progress): Promise<string[]> {
  const missing: string[] = [];
  for (const name of packages) if (!(await packageInstalled(name))) missing.push(name);
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) {
    throw new Error(`${adapter} adapter: missing Debian packages ${missing.join(', ')}; install them as root: `
      + `apt-get install -y ${missing.join(' ')}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    progress('apt-get update');
    await run('apt-get', ['update'], { env, maxBuffer: 64 * 1024 * 1024 });
    aptUpdated = true;
  }
  progress(`apt-get install ${missing.join(' ')}`);
  await run('apt-get', ['install', '-y', ...missing], { env, maxBuffer: 64 * 1024 * 1024 });
  for (const name of missing) {
    if (!(await packageInstalled(name))) throw new Error(`${adapter} adapter: apt-get did not install ${name}`);
  }
  return missing;
}
