/**
 * One process per data directory: a LOCK file holding the owner's pid (`<pid>\n`).
 *
 * - LOCK appears with its content in place: the pid is written to a temporary file of this
 *   process's own, which is then hard-linked to LOCK (failing if LOCK exists), so no one ever
 *   reads a LOCK that is still empty. (On a filesystem without hard links, LOCK is created with
 *   O_EXCL and written, as before.)
 * - A lock whose pid is gone (the owner was kill -9'd), or that holds no pid, is stale and taken
 *   over, as compare-and-swap: it is renamed to a name of this process's own (of several
 *   processes doing that, one gets the file), and deleted only if the renamed file holds what was
 *   judged stale. If it holds something else, it is a lock another process took over the same
 *   stale lock with meanwhile: it is put back. Then creating LOCK is tried again, and of everyone
 *   trying, one succeeds. (Left possible: a third process creating LOCK in the microseconds a
 *   lock taken by mistake is aside, which needs three processes starting on one stale lock.)
 * - This process's own pid in LOCK is a lock of an earlier run whose pid this one reuses (pid 1 in
 *   a container), and stale, unless this process holds it now: a data directory locked twice in
 *   one process would have two holders, and either's release would delete the other's lock, so a
 *   second lock while the first is held is refused.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirLockedError } from '../errors.ts';
import { isProcessAlive } from '../util/stale-folders.ts';

export interface DataDirLock {
  release(): void;
}

/** LOCK paths (real paths) this process holds now. */
const held = new Set<string>();

/** How `link()` fails on a filesystem without hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** Tries before giving up when other processes keep changing LOCK under this one. */
const ATTEMPTS = 10;

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** A file name in `dir` no other process or call uses. */
function privateName(dir: string, suffix: string): string {
  return join(dir, `LOCK.${process.pid}-${randomBytes(6).toString('hex')}.${suffix}`);
}

/** The file's content; undefined when it does not exist. */
function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function removeIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
  }
}

/** The pid a LOCK names; undefined when it names none (garbage, empty). */
function ownerOf(content: string): number | undefined {
  const pid = Number.parseInt(content, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Creates LOCK holding this process's pid; false when a LOCK exists. */
function create(dir: string, path: string): boolean {
  const content = `${process.pid}\n`;
  const tmp = privateName(dir, 'tmp');
  writeFileSync(tmp, content, { flag: 'wx' });
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(errorCode(err) ?? '')) throw err;
  } finally {
    removeIfExists(tmp);
  }
  try {
    const fd = openSync(path, 'wx');
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    throw err;
  }
}

/** Deletes LOCK if it still holds `stale`; a LOCK made meanwhile is left (put back) where it was. */
function removeStale(dir: string, path: string, stale: string): void {
  const aside = privateName(dir, 'stale');
  try {
    renameSync(path, aside);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return; // taken over or released meanwhile
    throw err;
  }
  if (readIfExists(aside) !== stale) renameSync(aside, path);
  else unlinkSync(aside);
}

export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const dir = realpathSync(dataDir);
  const path = join(dir, 'LOCK');
  if (held.has(path)) {
    throw new DataDirLockedError(
      `data directory ${dataDir} is already in use by this process (${process.pid}); close what opened it before opening it again`,
      { pid: process.pid },
    );
  }
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (create(dir, path)) {
      held.add(path);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          held.delete(path);
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    }
    const content = readIfExists(path);
    if (content === undefined) continue; // released meanwhile
    const owner = ownerOf(content);
    if (owner !== undefined && owner !== process.pid && isProcessAlive(owner)) {
      throw new DataDirLockedError(
        `data directory ${dataDir} is in use by process ${owner} (a running 'sextant serve'?); stop it, or use --url to talk to it`,
        { pid: owner },
      );
    }
    removeStale(dir, path, content); // its owner died without releasing it
  }
  throw new DataDirLockedError(`could not lock data directory ${dataDir}`);
}
