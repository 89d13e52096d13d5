import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultLabHome } from '../harness/config/lab-home.ts';

// Each vitest worker gets a lab of its own — its own state folder and loopback /24 — so e2e files run side by side
// without sharing addresses. Installs stay shared (FEDCONF_INSTALL_DIR defaults to .lab/install).
// A caller who picked a lab home or net runs the files one at a time instead (tests/vitest.config.ts).
// Not importing harness/config/paths.ts here: it reads these variables when first loaded.
const worker = Number(process.env.VITEST_POOL_ID ?? '1');
process.env.FEDCONF_LAB_HOME ??= join(defaultLabHome(fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '')), `worker-${worker}`);
process.env.FEDCONF_LAB_NET ??= `127.77.${100 + worker}`;
