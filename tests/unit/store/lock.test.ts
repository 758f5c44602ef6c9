// Tests src/store/lock.ts: the data-directory lock (one process per data dir, stale locks taken over).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirLockedError } from '../../../src/errors.ts';
import { lockDataDir, type DataDirLock } from '../../../src/store/lock.ts';

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
});
