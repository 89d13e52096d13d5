import { execFile } from 'node:child_process';
import { openSync, readSync, closeSync } from 'node:fs';
import { relative } from 'node:path';
import { promisify } from 'node:util';
import { searchStore, storeFiles, type StoreHit } from './server-store.ts';

const run = promisify(execFile);

/**
 * What a server's storage still *gives* for some text (RET-REDACT, RET-ERASE), as opposed to bytes still on disk:
 * in SQLite databases, the live rows of every table (WAL included) that contain it; other files (Prosody's archive
 * files, ejabberd's Mnesia tables) are the storage itself, so a byte hit there is a live copy. Byte hits in a
 * database's free pages or old WAL frames that no row gives any more are reported apart, as residue.
 */
export interface StoredContent {
  /** Live copies: `file: table` for database rows, `file` for other store files. */
  live: string[];
  /** Database files whose bytes still hold the text although no row gives it (free pages, old WAL frames). */
  residue: string[];
}

const sqliteMagic = Buffer.from('SQLite format 3\0', 'latin1');

function isSqlite(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    return readSync(fd, head, 0, 16, 0) === 16 && head.equals(sqliteMagic);
  } finally {
    closeSync(fd);
  }
}

/** Tables of `database` with a row containing `needle` in any column (one python3 process per database). */
async function sqliteTablesContaining(database: string, needle: string): Promise<string[]> {
  const script = [
    'import json, sqlite3, sys',
    'db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=10)',
    'hits = []',
    'for (name,) in db.execute("select name from sqlite_master where type in (\'table\', \'view\')").fetchall():',
    '    try:',
    '        cols = [r[1] for r in db.execute("pragma table_info(\\"%s\\")" % name.replace(\'"\', \'""\'))]',
    '        if not cols: continue',
    '        where = " or ".join("instr(cast(\\"%s\\" as blob), cast(? as blob)) > 0" % c.replace(\'"\', \'""\') for c in cols)',
    '        if db.execute("select 1 from \\"%s\\" where %s limit 1" % (name.replace(\'"\', \'""\'), where), [sys.argv[2]] * len(cols)).fetchone(): hits.append(name)',
    '    except sqlite3.Error:',
    '        pass  # a virtual table whose module this python lacks: its shadow tables are searched anyway',
    'print(json.dumps(hits))',
  ].join('\n');
  const { stdout } = await run('python3', ['-c', script, database, needle], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as string[];
}

/** Where the store under `dir` still holds `needle` (logs excluded: they are not the message store). */
export async function storedContent(dir: string, needle: string): Promise<StoredContent> {
  const bytes: StoreHit[] = searchStore(dir, [needle]);
  const live: string[] = [];
  const residue: string[] = [];
  const databases = storeFiles(dir).filter((f) => !/-(wal|shm|journal)$/.test(f) && isSqlite(f));
  for (const database of databases) {
    for (const table of await sqliteTablesContaining(database, needle)) live.push(`${relative(dir, database)}: ${table}`);
  }
  const databaseNames = new Set(databases.map((d) => relative(dir, d)));
  for (const hit of bytes) {
    const database = hit.file.replace(/-(wal|shm|journal)$/, '');
    if (databaseNames.has(database)) {
      if (!live.some((l) => l.startsWith(`${database}: `))) residue.push(hit.file);
    } else {
      live.push(hit.file);
    }
  }
  return { live, residue };
}
