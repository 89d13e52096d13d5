import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { querySqlite, searchStore } from '../../harness/probes/server-store.ts';

describe('what a server keeps on disk', () => {
  it('reads rows still in the write-ahead log and finds a needle in any stored file, logs left out unless asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedconf-store-'));
    mkdirSync(join(dir, 'media'));
    writeFileSync(join(dir, 'media', 'blob'), 'xx secret-one xx');
    writeFileSync(join(dir, 'server.log'), 'secret-two');
    // A writer that keeps its connection open leaves its rows in homeserver.db-wal, as a running server does.
    const writer = `import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1]); db.execute('pragma journal_mode=wal'); db.execute('pragma wal_autocheckpoint=0')
db.execute('create table events (id text, body text)'); db.execute("insert into events values ('e1', 'secret-three')"); db.commit()
print('ok', flush=True); time.sleep(3)`;
    const child = spawn('python3', ['-c', writer, join(dir, 'homeserver.db')]);
    await new Promise((r) => child.stdout.once('data', r));
    expect(await querySqlite(join(dir, 'homeserver.db'), 'select body from events where id = ?', ['e1'])).toEqual([{ body: 'secret-three' }]);
    const hits = searchStore(dir, ['secret-one', 'secret-two', 'secret-three']).map((h) => `${h.needle} in ${h.file}`);
    expect(hits).toContain('secret-one in media/blob');
    expect(hits).toContain('secret-three in homeserver.db-wal');
    expect(hits.some((h) => h.startsWith('secret-two'))).toBe(false);
    expect(searchStore(dir, ['secret-two'], { logs: true }).map((h) => h.file)).toEqual(['server.log']);
    child.kill();
  });
});
