/** src/util/durable-write.ts: atomic replacement, temp-file cleanup, first writes. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fsyncDir, fsyncFile, renameDurably, writeFileDurably, writeFileSynced } from '../../../src/util/durable-write.ts';

const root = mkdtempSync(join(tmpdir(), 'sextant-durable-write-'));
let dirCount = 0;
const freshDir = () => {
  const dir = join(root, `d${++dirCount}`);
  mkdirSync(dir);
  return dir;
};
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeFileDurably', () => {
  it('creates the target when it does not exist yet, leaving no temp file', async () => {
    const dir = freshDir();
    await writeFileDurably(join(dir, 'a.json'), '{"a":1}\n');
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('{"a":1}\n');
    expect(readdirSync(dir)).toEqual(['a.json']);
    await writeFileDurably(join(dir, 'b.bin'), Uint8Array.from([1, 2, 3]));
    expect([...readFileSync(join(dir, 'b.bin'))]).toEqual([1, 2, 3]);
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.bin']);
  });

  it('replaces the content atomically: a concurrent reader sees the old or the new file, never a mix', async () => {
    const dir = freshDir();
    const path = join(dir, 'big.txt');
    const versions = ['a', 'b', 'c', 'd', 'e', 'f'].map((c) => c.repeat(2 * 1024 * 1024));
    await writeFileDurably(path, versions[0]!);
    let writing = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (writing) {
        const text = await readFile(path, 'utf8');
        // Whole and of one version only.
        expect(text.length).toBe(versions[0]!.length);
        expect(text[0]!.repeat(text.length) === text).toBe(true);
        seen.add(text[0]!);
      }
    })();
    for (const v of versions.slice(1)) await writeFileDurably(path, v);
    writing = false;
    await reader;
    expect(readFileSync(path, 'utf8')).toBe(versions.at(-1));
    expect(seen.size).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual(['big.txt']);
  });

  it('concurrent writers to one target each use their own temp file; one of them wins whole', async () => {
    const dir = freshDir();
    const path = join(dir, 'shared.txt');
    const texts = Array.from({ length: 8 }, (_, i) => String(i).repeat(100_000));
    await Promise.all(texts.map((t) => writeFileDurably(path, t)));
    expect(texts).toContain(readFileSync(path, 'utf8'));
    expect(readdirSync(dir)).toEqual(['shared.txt']);
  });

  it('removes its temp file and leaves the target alone when the rename fails', async () => {
    const dir = freshDir();
    // rename(2) cannot replace a non-empty directory.
    const path = join(dir, 'target');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'x');
    await expect(writeFileDurably(path, 'new')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['target']);
    expect(readdirSync(path)).toEqual(['inside']);
  });

  it('removes its temp file and keeps the old content when the write fails', async () => {
    const dir = freshDir();
    const path = join(dir, 'keep.txt');
    writeFileSync(path, 'old');
    await expect(writeFileDurably(path, 42 as unknown as string)).rejects.toThrow();
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['keep.txt']);
  });

  it('fails without creating anything when the directory does not exist', async () => {
    const dir = freshDir();
    await expect(writeFileDurably(join(dir, 'missing', 'x.txt'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('with a fixed temp name, overwrites a temp file an earlier crash left behind', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'CURRENT.tmp'), '9');
    await writeFileDurably(join(dir, 'CURRENT'), '3\n', { tempName: 'CURRENT.tmp' });
    expect(readFileSync(join(dir, 'CURRENT'), 'utf8')).toBe('3\n');
    expect(readdirSync(dir)).toEqual(['CURRENT']);
  });

  it('refuses a temp name outside the directory or equal to the target', async () => {
    const dir = freshDir();
    await expect(writeFileDurably(join(dir, 'x'), 'x', { tempName: '../../../x.tmp' })).rejects.toThrow(/temp file name/);
    await expect(writeFileDurably(join(dir, 'x'), 'x', { tempName: 'x' })).rejects.toThrow(/temp file name/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('renameDurably, writeFileSynced, fsync helpers', () => {
  it('moves a finished staging folder into place', async () => {
    const dir = freshDir();
    const staging = join(dir, '.v1.tmp');
    mkdirSync(staging);
    await writeFileSynced(join(staging, 'manifest.json'), '{}');
    await fsyncDir(staging);
    await renameDurably(staging, join(dir, 'v1'));
    expect(readdirSync(dir)).toEqual(['v1']);
    expect(readFileSync(join(dir, 'v1', 'manifest.json'), 'utf8')).toBe('{}');
  });

  it('renames across directories', async () => {
    const a = freshDir();
    const b = freshDir();
    writeFileSync(join(a, 'f'), 'moved');
    await renameDurably(join(a, 'f'), join(b, 'f'));
    expect(existsSync(join(a, 'f'))).toBe(false);
    expect(readFileSync(join(b, 'f'), 'utf8')).toBe('moved');
  });

  it('writeFileSynced truncates an existing file; fsyncFile needs the file to exist', async () => {
    const dir = freshDir();
    const path = join(dir, 'f');
    writeFileSync(path, 'a much longer old content');
    await writeFileSynced(path, 'short');
    expect(readFileSync(path, 'utf8')).toBe('short');
    await fsyncFile(path);
    await expect(fsyncFile(join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fsyncDir(join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
