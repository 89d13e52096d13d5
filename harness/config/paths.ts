import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, independent of the caller's working directory. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the native lab keeps its installs (venvs, builds) and its running state. Never committed. */
export const labHome = process.env.FEDCONF_LAB_HOME ?? join(repoRoot, '.lab');
export const installDir = join(labHome, 'install');
export const stateFile = join(labHome, 'state.json');

export const profilesDir = join(repoRoot, 'profiles');
export const productsDir = join(repoRoot, 'fixtures', 'products');
export const templatesDir = join(repoRoot, 'fixtures', 'templates');
export const suitesDir = join(repoRoot, 'suites');
export const reportsDir = process.env.FEDCONF_REPORTS_DIR ?? join(repoRoot, 'reports');
