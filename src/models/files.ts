/** Checksums of model files (crash-safe writes live in src/util/durable-write.ts). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
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
