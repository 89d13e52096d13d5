#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx fedconf` and `npm run fedconf` behave the same.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

process.on('SIGINT', () => {}); // the CLI child stops the lab and exits; wait for it
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'harness/cli/main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
