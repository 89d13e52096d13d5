import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultLabHome } from './lab-home.ts';

/** The repository root, independent of the caller's working directory. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the native lab keeps its running state: .lab in the clone, or under /var/tmp where the servers' users cannot reach .lab. Never committed. */
export const labHome = process.env.FEDCONF_LAB_HOME ?? defaultLabHome(repoRoot);
/** Installs (venvs, builds) are shared by every lab home: FEDCONF_LAB_HOME only moves the running state. */
export const installDir = process.env.FEDCONF_INSTALL_DIR ?? join(repoRoot, '.lab', 'install');
export const stateFile = join(labHome, 'state.json');
/** The running lab described as an external target (written by `fedconf lab up`). */
export const labTargetFile = join(labHome, 'target.yaml');

export const profilesDir = join(repoRoot, 'profiles');
export const productsDir = join(repoRoot, 'fixtures', 'products');
export const templatesDir = join(repoRoot, 'fixtures', 'templates');
export const suitesDir = join(repoRoot, 'suites');
export const reportsDir = process.env.FEDCONF_REPORTS_DIR ?? join(repoRoot, 'reports');
