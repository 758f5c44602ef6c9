// Acceptance for src/store (sqlite-store.ts): kill -9 of a writer loses no acknowledged write and leaves a consistent database.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DB_FILE, SqliteStore } from '../../src/store/sqlite-store.ts';

const REPO = resolve(import.meta.dirname, '../..');
const WRITER = join(REPO, 'tests', 'fixtures', 'store-crash-writer.ts');

/** A raw connection for assertions the Store API does not expose. */
function raw(dir: string): Database.Database {
  return new Database(join(dir, DB_FILE));
}

describe('store crash safety', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-store-crash-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write when the writer is killed with SIGKILL', async () => {
    const crashDir = join(dir, 'crash');
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, crashDir], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const acknowledged: string[] = [];
    let stderr = '';
    let buffer = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close' waits for stdout to drain: lines read after the kill were printed after a commit too.
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('close', (_code, signal) => res(signal)));
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        acknowledged.push(...lines);
        if (acknowledged.length >= 400 && !child.killed) {
          child.kill('SIGKILL');
          res();
        }
      });
      child.on('exit', () => rej(new Error(`writer exited early: ${stderr}`)));
    });
    expect(await exited).toBe('SIGKILL');

    const db = raw(crashDir);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    const reopened = SqliteStore.open(crashDir);
    try {
      const present = reopened.getDocuments('c', acknowledged);
      const missing = acknowledged.filter((id) => !present.has(id));
      expect(missing).toEqual([]);
      const gen = reopened.getCollection('c')!.liveGeneration!;
      expect(reopened.getVectors(gen, acknowledged).size).toBe(acknowledged.length);
      // The keyword index is consistent with the documents that made it.
      const check = raw(crashDir);
      const key = (check.prepare(`SELECT key FROM collections WHERE name = 'c'`).get() as { key: number }).key;
      expect(() => check.prepare(`INSERT INTO fts_${key}(fts_${key}) VALUES ('integrity-check')`).run()).not.toThrow();
      check.close();
      expect(reopened.countDocuments('c')).toBeGreaterThanOrEqual(acknowledged.length);
      expect(reopened.countDocuments('c') % 10).toBe(0); // batches are all-or-nothing
      expect(reopened.keywordSearch('c', acknowledged[0], 1)[0]?.id).toBe(acknowledged[0]);
    } finally {
      reopened.close();
    }
  });
});
