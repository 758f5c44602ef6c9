/**
 * Leftovers of killed writers: a temporary folder whose name carries its writer's pid is removed
 * once that process is gone and the folder has not changed for a minute (another container, in
 * another pid namespace, may share the directory and reuse the number).
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Untouched this long, a dead writer's folder is taken for abandoned. */
const ABANDONED_AFTER_MS = 60_000;

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the entries of `parent` whose name matches `pattern` (group 1: the writer's pid) and that a dead writer left. */
export async function removeStaleFolders(parent: string, pattern: RegExp): Promise<void> {
  for (const entry of await readdir(parent)) {
    const match = pattern.exec(entry);
    const pid = Number(match?.[1]);
    if (!match || pid === process.pid || isProcessAlive(pid)) continue;
    const path = join(parent, entry);
    try {
      if (Date.now() - (await stat(path)).mtimeMs < ABANDONED_AFTER_MS) continue;
      await rm(path, { recursive: true, force: true });
    } catch {
      // Removed by someone else meanwhile, or unreadable: not ours to worry about.
    }
  }
}
