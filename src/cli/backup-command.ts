/**
 * `sextant backup <dir>`: a consistent copy of the data directory, through a running server
 * (--url, POST /v1/admin/backup; `dir` is on the server's machine) or, without one, by opening
 * the data directory here. `sextant restore <dir>`: a backup into an empty data directory (no
 * server may be running on it: the data directory lock refuses a second opener).
 */
import { resolve } from 'node:path';
import { InvalidInputError } from '../errors.ts';
import { openRuntime } from '../runtime.ts';
import { restoreDataDir } from '../search/backup.ts';
import { lockDataDir } from '../store/lock.ts';
import { configFrom, parse } from './args.ts';
import { cliClient } from './client.ts';

export async function backupCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {});
  const [dir] = positionals;
  if (!dir || positionals.length > 1) throw new InvalidInputError('usage: sextant backup <dir> [--url URL | --data-dir DIR]');
  const config = configFrom(values);
  if (config.url) {
    const manifest = await cliClient(config.url, config.apiKey).backup({ dir });
    process.stdout.write(`${JSON.stringify(manifest)}\n`);
    return;
  }
  const runtime = await openRuntime(config, { startJobs: false });
  try {
    const manifest = await runtime.service.backup(dir);
    process.stdout.write(`${JSON.stringify({ dir: resolve(dir), ...manifest })}\n`);
  } finally {
    await runtime.close();
  }
}

export async function restoreCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {});
  const [dir] = positionals;
  if (!dir || positionals.length > 1) throw new InvalidInputError('usage: sextant restore <backup dir> [--data-dir DIR] [--models-dir DIR]');
  const config = configFrom(values);
  if (config.url) throw new InvalidInputError('restore works on a data directory, not a server: stop the server, restore, start it again');
  // Hold the lock while copying, so a server cannot start on the directory half restored.
  const lock = lockDataDir(config.dataDir);
  try {
    const restored = await restoreDataDir(dir, config.dataDir, config.modelsDir);
    process.stdout.write(`${JSON.stringify({ data_dir: resolve(config.dataDir), seq: restored.seq, collections: restored.collections.map((c) => ({ name: c.name, documents: c.documents })), models: restored.restoredModels })}\n`);
  } finally {
    lock.release();
  }
}
