// Tests src/store/lock.ts: the data-directory lock (one process per data dir, stale locks taken over).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DataDirLockedError } from '../../../src/errors.ts';
import { lockDataDir, type DataDirLock } from '../../../src/store/lock.ts';

/**
 * Hooks into lock.ts's file operations; every fs function is otherwise the real one.
 * - `afterLockRead` plays another process's move at an exact point of a race: it runs once, right
 *   after the next read of a file named LOCK returns.
 * - `linkError`: link() fails with this code, as on a filesystem without hard links.
 */
const fsHooks = vi.hoisted(() => ({ afterLockRead: undefined as (() => void) | undefined, linkError: undefined as string | undefined }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readFileSync = ((...args: Parameters<typeof fs.readFileSync>) => {
    const result = fs.readFileSync(...args);
    const hook = fsHooks.afterLockRead;
    if (hook && typeof args[0] === 'string' && basename(args[0]) === 'LOCK') {
      fsHooks.afterLockRead = undefined;
      hook();
    }
    return result;
  }) as typeof fs.readFileSync;
  const linkSync: typeof fs.linkSync = (existing, path) => {
    if (fsHooks.linkError) throw Object.assign(new Error(`${fsHooks.linkError}: link '${String(existing)}' -> '${String(path)}'`), { code: fsHooks.linkError });
    fs.linkSync(existing, path);
  };
  return { ...fs, readFileSync, linkSync, default: { ...fs, readFileSync, linkSync } };
});

const REPO = resolve(import.meta.dirname, '../../..');
const LOCK_MODULE = pathToFileURL(join(REPO, 'src', 'store', 'lock.ts')).href;

/** Node arguments that run `source` (an ES module; process.argv[1] is the data dir) with TypeScript imports. */
function childArgs(source: string, dataDir: string): string[] {
  return ['--import', 'tsx', '--input-type=module', '-e', source, dataDir];
}

/** A second process that takes the lock and holds it (never releasing) until it is killed. */
const HOLDER = `
  const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)});
  lockDataDir(process.argv[1]);
  process.stdout.write('locked\\n');
  setInterval(() => {}, 1000);
`;

/** A second process that tries to take the lock once and reports what happened as JSON. */
const TRY_LOCK = `
  const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)});
  try {
    lockDataDir(process.argv[1]).release();
    console.log(JSON.stringify({ locked: true }));
  } catch (err) {
    console.log(JSON.stringify({ locked: false, name: err.name, code: err.code, message: err.message, details: err.details }));
  }
`;

describe('lockDataDir', () => {
  let dir: string;
  let held: DataDirLock[];
  let children: ChildProcess[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-lock-'));
    held = [];
    children = [];
  });
  afterEach(() => {
    fsHooks.afterLockRead = undefined;
    fsHooks.linkError = undefined;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const lock of held) lock.release();
    rmSync(dir, { recursive: true, force: true });
  });

  const dataDir = () => join(dir, 'data');
  const lockFile = () => join(dataDir(), 'LOCK');
  const lock = () => {
    const l = lockDataDir(dataDir());
    held.push(l);
    return l;
  };

  /** Starts HOLDER and resolves once it holds the lock. */
  async function startHolder(): Promise<ChildProcess> {
    const child = spawn(process.execPath, childArgs(HOLDER, dataDir()), { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((res, rej) => {
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('locked')) res();
      });
      child.on('exit', (code, signal) => rej(new Error(`lock holder exited (${code ?? signal}) before locking: ${stderr}`)));
    });
    return child;
  }

  function exited(child: ChildProcess): Promise<void> {
    return new Promise((res) => (child.exitCode !== null || child.signalCode !== null ? res() : child.on('exit', () => res())));
  }

  /** A pid that certainly belonged to a process that is gone now. */
  function deadPid(): number {
    const child = spawnSync(process.execPath, ['-e', '']);
    expect(child.status).toBe(0);
    return child.pid!;
  }

  it('creates the data directory and a LOCK file holding this process id', () => {
    expect(existsSync(dataDir())).toBe(false);
    lock();
    expect(readFileSync(lockFile(), 'utf8')).toBe(`${process.pid}\n`);
  });

  it('refuses while another live process holds it, naming that process, and leaves its lock alone', async () => {
    const holder = await startHolder();
    let error: unknown;
    try {
      lock();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DataDirLockedError);
    const locked = error as DataDirLockedError;
    expect(locked.code).toBe('data_dir_locked');
    expect(locked.details).toEqual({ pid: holder.pid });
    expect(locked.message).toContain(`in use by process ${holder.pid}`);
    expect(locked.message).toContain(dataDir());
    expect(readFileSync(lockFile(), 'utf8').trim()).toBe(String(holder.pid));
  });

  it('is refused to another process while this one holds it', () => {
    lock();
    const child = spawnSync(process.execPath, childArgs(TRY_LOCK, dataDir()), { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).toBe('');
    const result = JSON.parse(child.stdout) as { locked: boolean; name: string; code: string; message: string; details: unknown };
    expect(result).toMatchObject({ locked: false, name: 'DataDirLockedError', code: 'data_dir_locked', details: { pid: process.pid } });
    expect(result.message).toContain(`in use by process ${process.pid}`);
    expect(readFileSync(lockFile(), 'utf8')).toBe(`${process.pid}\n`);
  });

  it('takes over the lock of a holder killed with SIGKILL', async () => {
    const holder = await startHolder();
    holder.kill('SIGKILL');
    await exited(holder);
    // The dead holder could not release it: the file still names it.
    expect(readFileSync(lockFile(), 'utf8').trim()).toBe(String(holder.pid));
    lock();
    expect(readFileSync(lockFile(), 'utf8')).toBe(`${process.pid}\n`);
  });

  it('takes over a stale lock: a gone pid, garbage, an empty file, or this process id from an earlier run', () => {
    mkdirSync(dataDir(), { recursive: true });
    for (const content of [`${deadPid()}\n`, 'not a pid\n', '', `${process.pid}\n`]) {
      writeFileSync(lockFile(), content);
      const l = lock();
      expect(readFileSync(lockFile(), 'utf8'), JSON.stringify(content)).toBe(`${process.pid}\n`);
      l.release();
      expect(existsSync(lockFile())).toBe(false);
    }
  });

  it('releases: removes the LOCK file once, so the directory can be locked again', () => {
    const first = lock();
    first.release();
    expect(existsSync(lockFile())).toBe(false);
    const second = lock();
    first.release(); // a second release of the first lock must not remove the new holder's file
    expect(readFileSync(lockFile(), 'utf8')).toBe(`${process.pid}\n`);
    second.release();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('on release leaves a LOCK that names another process, and tolerates a missing one', () => {
    const l = lock();
    writeFileSync(lockFile(), '4242\n'); // taken over meanwhile
    l.release();
    expect(readFileSync(lockFile(), 'utf8')).toBe('4242\n');
    unlinkSync(lockFile());
    const again = lock();
    unlinkSync(lockFile());
    expect(() => again.release()).not.toThrow();
    expect(existsSync(lockFile())).toBe(false);
  });
  it('refuses a second lock of the directory in this process while the first is held, naming this process', () => {
    const first = lock();
    mkdirSync(join(dir, 'links'));
    symlinkSync(dataDir(), join(dir, 'links', 'data'));
    for (const spelling of [dataDir(), `${dataDir()}/`, join(dir, 'links', 'data')]) {
      let error: unknown;
      try {
        held.push(lockDataDir(spelling));
      } catch (err) {
        error = err;
      }
      expect(error, spelling).toBeInstanceOf(DataDirLockedError);
      const locked = error as DataDirLockedError;
      expect(locked.code).toBe('data_dir_locked');
      expect(locked.details).toEqual({ pid: process.pid });
      expect(locked.message).toContain(`by this process (${process.pid})`);
      expect(locked.message).toContain(`data directory ${spelling} `);
    }
    // The refused attempts changed nothing: the first holder's file is intact, and its release
    // frees the directory.
    expect(readFileSync(lockFile(), 'utf8')).toBe(`${process.pid}\n`);
    first.release();
    expect(existsSync(lockFile())).toBe(false);
    const second = lock();
    expect(readFileSync(lockFile(), 'utf8')).toBe(`${process.pid}\n`);
    second.release();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('does not take a lock another process took over from the same stale lock meanwhile', async () => {
    // Process A found the stale lock too and, between our read of it and our takeover, replaced it
    // with its own. A lock that deletes "the stale lock" by name would delete A's and take it.
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(other);
    await new Promise<void>((res, rej) => other.on('spawn', res).on('error', rej));
    mkdirSync(dataDir(), { recursive: true });
    for (const stale of [`${deadPid()}\n`, 'not a pid\n', '', `${process.pid}\n`]) {
      writeFileSync(lockFile(), stale);
      fsHooks.afterLockRead = () => {
        unlinkSync(lockFile());
        writeFileSync(lockFile(), `${other.pid}\n`);
      };
      let error: unknown;
      try {
        lock();
      } catch (err) {
        error = err;
      }
      expect(fsHooks.afterLockRead, JSON.stringify(stale)).toBeUndefined(); // the race was played
      expect(error, JSON.stringify(stale)).toBeInstanceOf(DataDirLockedError);
      expect((error as DataDirLockedError).details).toEqual({ pid: other.pid });
      expect(readFileSync(lockFile(), 'utf8')).toBe(`${other.pid}\n`);
      expect(readdirSync(dataDir())).toEqual(['LOCK']); // nothing left aside
    }
  });

  it('on a filesystem without hard links, creates LOCK in place, and still takes over stale ones', () => {
    mkdirSync(dataDir(), { recursive: true });
    for (const code of ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']) {
      fsHooks.linkError = code;
      for (const before of [undefined, `${deadPid()}\n`]) {
        if (before !== undefined) writeFileSync(lockFile(), before);
        const l = lock();
        expect(readFileSync(lockFile(), 'utf8'), code).toBe(`${process.pid}\n`);
        expect(readdirSync(dataDir()), code).toEqual(['LOCK']);
        l.release();
        expect(existsSync(lockFile())).toBe(false);
      }
    }
    // Any other failure to link is not a missing feature: it is reported.
    fsHooks.linkError = 'EIO';
    expect(() => lock()).toThrow(/EIO/);
    expect(readdirSync(dataDir())).toEqual([]);
  });

  it('of several processes taking over one stale lock at once, exactly one gets it', async () => {
    // Each child waits for the same moment, then tries; the winner holds the lock until killed.
    // (The race is rarely close enough to catch a lock without compare-and-swap takeover: the
    // test above plays it exactly. This one is the real thing, with real processes.)
    const RACE = `
      const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)});
      const start = Number(process.argv[2]);
      const sleeper = new Int32Array(new SharedArrayBuffer(4));
      while (Date.now() < start - 20) Atomics.wait(sleeper, 0, 0, 5);
      while (Date.now() < start);
      try {
        lockDataDir(process.argv[1]);
        console.log(JSON.stringify({ locked: true }));
        setInterval(() => {}, 1000);
      } catch (err) {
        console.log(JSON.stringify({ locked: false, code: err.code, pid: err.details?.pid }));
      }
    `;
    mkdirSync(dataDir(), { recursive: true });
    for (let round = 0; round < 2; round++) {
      writeFileSync(lockFile(), `${deadPid()}\n`);
      // Late enough for every child to have loaded the module; one that is late anyway still has
      // to be refused (by the winner's live pid).
      const start = Date.now() + 2000;
      const racers = Array.from({ length: 5 }, () => {
        const child = spawn(process.execPath, [...childArgs(RACE, dataDir()), String(start)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        return child;
      });
      const results = await Promise.all(
        racers.map(
          (child) =>
            new Promise<{ pid: number; locked: boolean; code?: string; owner?: number }>((res, rej) => {
              let out = '';
              let err = '';
              child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
              child.stdout!.on('data', (d: Buffer) => {
                out += d.toString();
                if (out.includes('\n')) {
                  const r = JSON.parse(out) as { locked: boolean; code?: string; pid?: number };
                  res({ pid: child.pid!, locked: r.locked, code: r.code, owner: r.pid });
                }
              });
              child.on('exit', (code) => (out.includes('\n') ? undefined : rej(new Error(`racer exited (${code}): ${err}`))));
            }),
        ),
      );
      const winners = results.filter((r) => r.locked);
      expect(winners, JSON.stringify(results)).toHaveLength(1);
      const winner = winners[0]!.pid;
      for (const loser of results.filter((r) => !r.locked)) expect(loser, JSON.stringify(results)).toMatchObject({ code: 'data_dir_locked', owner: winner });
      expect(readFileSync(lockFile(), 'utf8')).toBe(`${winner}\n`);
      expect(readdirSync(dataDir()).filter((f) => f !== 'LOCK'), 'temporary files left behind').toEqual([]);
      for (const child of racers) child.kill('SIGKILL');
      await Promise.all(racers.map(exited));
    }
  });
});
