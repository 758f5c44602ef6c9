/**
 * Crash-safe file writes, shared by everything that keeps state in plain files (HNSW snapshots
 * and their CURRENT pointer, model folders, aliases.json).
 *
 *   writeFileDurably(path, data)  temp file in the same directory, fsync it, rename it over
 *                                 `path`, fsync the directory: after a crash `path` holds either
 *                                 the old content or the new, never a mix, and once the promise
 *                                 resolves the new content survives a power cut.
 *   renameDurably(from, to)       rename, then fsync the directory (or directories) holding the
 *                                 entries, e.g. to publish a finished staging folder.
 *   writeFileSynced(path, data)   write and fsync in place, no rename: for files that nothing
 *                                 reads until a later atomic step names them.
 *   fsyncFile / fsyncDir          the fsyncs themselves.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface DurableWriteOptions {
  /**
   * Name of the temp file, in the target's directory. The default is unique per call
   * (`<name>.tmp-<pid>-<random>`), so concurrent writers never share a temp file. A fixed name
   * suits a directory with a single writer: a temp file left by a crash is then overwritten by
   * the next write instead of piling up.
   */
  readonly tempName?: string;
}

/** Atomically replaces (or creates) `path` with `data`; see the file comment. The directory must exist. */
export async function writeFileDurably(path: string, data: string | Uint8Array, options: DurableWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const tempName = options.tempName ?? `${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  if (tempName !== basename(tempName) || tempName === basename(path)) {
    throw new Error(`temp file name must be a plain file name other than the target's, got '${tempName}'`);
  }
  const temp = join(dir, tempName);
  try {
    await writeFileSynced(temp, data);
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
}

/** Renames `from` to `to` (a file or a folder), then makes the new directory entry durable. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(dirname(to));
  if (dirname(from) !== dirname(to)) await fsyncDir(dirname(from));
}

/** Writes `data` to `path` (created or truncated) and fsyncs it before resolving. */
export async function writeFileSynced(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs a file someone else wrote (e.g. a native library). */
export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * fsyncs a directory, so entries created, renamed or removed in it survive a power cut. Some
 * platforms (Windows) and filesystems cannot open or fsync a directory; the files' own data is
 * synced regardless, so that refusal is ignored.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
  } finally {
    await handle?.close();
  }
}
