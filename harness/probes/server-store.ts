import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * What a server keeps on disk, read from the outside (native lab: OrganisationDescription.storeDir): the
 * requirements that ask what a server *holds* (E2E-BLIND, RET-REDACT) look here, not only at what its APIs serve.
 */

/** Every regular file under `dir` (databases with their -wal/-shm, archives, media), logs included or not. */
export function storeFiles(dir: string, options: { logs?: boolean } = {}): string[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && (options.logs || !/\.log(\.\d+)?$/.test(entry.name))) files.push(path);
    }
  };
  walk(dir);
  return files;
}

export interface StoreHit { needle: string; file: string; bytes: number }

/**
 * Which files under `dir` contain which needle, byte for byte (UTF-8). A byte search also sees what SQL no longer
 * shows: rows a database deleted but has not yet overwritten (free pages, the WAL), which is what a disk holds.
 */
export function searchStore(dir: string, needles: string[], options: { logs?: boolean } = {}): StoreHit[] {
  const hits: StoreHit[] = [];
  const patterns = needles.map((n) => ({ needle: n, bytes: Buffer.from(n, 'utf8') }));
  for (const file of storeFiles(dir, options)) {
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch {
      continue; // removed while we looked (a rotated WAL)
    }
    for (const p of patterns) if (content.includes(p.bytes)) hits.push({ needle: p.needle, file: relative(dir, file), bytes: statSync(file).size });
  }
  return hits;
}

/**
 * Rows of a read-only SQL query on a SQLite database the server is using, WAL included (python3's sqlite3, which
 * the Synapse install needs anyway; an in-memory WASM SQLite would miss what is still in the -wal file).
 */
export async function querySqlite(database: string, sql: string, params: (string | number)[] = []): Promise<Record<string, unknown>[]> {
  const script = [
    'import json, sqlite3, sys',
    'db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=10)',
    'db.row_factory = sqlite3.Row',
    'rows = db.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()',
    'print(json.dumps([{k: (r[k].decode("utf-8", "replace") if isinstance(r[k], bytes) else r[k]) for k in r.keys()} for r in rows]))',
  ].join('\n');
  const { stdout } = await run('python3', ['-c', script, database, sql, JSON.stringify(params)], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as Record<string, unknown>[];
}
