/** Checksums and crash-safe writes for model folders. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileEntry } from './manifest.ts';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function describeFile(root: string, relativePath: string): Promise<FileEntry> {
  const full = `${root}/${relativePath}`;
  const [sha256, info] = await Promise.all([sha256File(full), stat(full)]);
  return { path: relativePath, sha256, bytes: info.size };
}

/** Writes via temp file + fsync + rename so a crash never leaves a half-written file in place. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}
