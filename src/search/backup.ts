/**
 * Backups of a data directory while it serves (`sextant backup`, POST /v1/admin/backup) and
 * restores into an empty one (`sextant restore`).
 *
 * Consistency: every collection's write lock is taken (writes wait, searches go on), each local
 * index is flushed so its snapshot holds every applied change, the snapshots are pinned (no new
 * snapshot replaces their files), the SQLite file is copied with the online backup API, and the
 * locks are released. The index files are copied after that, from the pinned snapshots. The copy
 * is therefore the state at one point: the database at seq S and indexes that hold exactly the
 * changes up to S, the same graphs the server was searching, so a restored directory answers
 * every search as the source did at that point. Writes wait for the flush and the database copy
 * only (sub-second for Cranfield-sized collections), not for the index file copies.
 *
 * Layout of a backup: the data directory's own (sextant.db, <collection>/<generation>/ snapshot
 * files), plus models/<name>/<version>/ for every model a generation uses, and BACKUP.json,
 * written last, which marks the backup complete.
 */
import { copyFile, cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { ConflictError, InvalidInputError } from '../errors.ts';
import { generationDir } from '../index/factory.ts';
import type { SnapshotPin } from '../index/types.ts';
import { log } from '../log.ts';
import { DB_FILE } from '../store/database.ts';
import { writeFileDurably } from '../util/durable-write.ts';
import type { SearchContext } from './context.ts';

export const BACKUP_MANIFEST = 'BACKUP.json';
const MODELS = 'models';

const manifestSchema = z.object({
  format: z.literal(1),
  created_at: z.string(),
  seq: z.number().int().nonnegative(),
  collections: z.array(
    z.object({
      name: z.string(),
      documents: z.number().int().nonnegative(),
      generations: z.array(z.object({ id: z.number().int(), state: z.string(), model: z.string(), backend: z.string(), snapshot_seq: z.number().int().nullable() })),
    }),
  ),
  models: z.array(z.string()),
  bytes: z.number().int().nonnegative(),
  ms: z.number().nonnegative(),
});

/** What BACKUP.json holds, and what a backup returns. */
export type BackupManifest = z.infer<typeof manifestSchema>;

/** The data directory's lock file (store/lock.ts), which a restore holds while it copies. */
const LOCK_FILE = /^LOCK(\.|$)/;

async function isEmptyOrAbsent(dir: string, ignore?: RegExp): Promise<boolean> {
  if (!existsSync(dir)) return true;
  if (!(await stat(dir)).isDirectory()) return false;
  return (await readdir(dir)).every((name) => ignore?.test(name) === true);
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await treeBytes(path) : (await stat(path)).size;
  }
  return total;
}

/** Runs `section` holding every named collection's write lock (taken in name order). */
async function holdingWrites<T>(ctx: SearchContext, names: readonly string[], section: () => Promise<T>): Promise<T> {
  const [first, ...rest] = names;
  if (first === undefined) return section();
  return ctx.writes.run(first, () => holdingWrites(ctx, rest, section));
}

/** Writes a consistent copy of the data directory to `destination` (absent or empty). */
export async function backupDataDir(ctx: SearchContext, destination: string): Promise<BackupManifest> {
  const dest = resolve(destination);
  const dataDir = resolve(ctx.config.dataDir);
  if (dest === dataDir || dest.startsWith(`${dataDir}${sep}`) || dataDir.startsWith(`${dest}${sep}`)) {
    throw new InvalidInputError(`backup directory ${destination} must be outside the data directory ${ctx.config.dataDir}`);
  }
  if (!(await isEmptyOrAbsent(dest))) throw new ConflictError(`backup directory ${destination} exists and is not empty`);
  const started = performance.now();
  await mkdir(dest, { recursive: true });

  const names = ctx.store.listCollections().map((c) => c.name).sort();
  const pins: { collection: string; generation: number; pin: SnapshotPin }[] = [];
  let seq = 0;
  const collections: BackupManifest['collections'] = [];
  try {
    await holdingWrites(ctx, names, async () => {
      for (const name of names) {
        const collection = ctx.store.getCollection(name);
        if (!collection) continue;
        const generations: BackupManifest['collections'][number]['generations'] = [];
        for (const generation of ctx.store.listGenerations(name)) {
          const index = await ctx.indexes.get(collection, generation);
          let snapshotSeq: number | null = null;
          if (index.pinSnapshot) {
            await index.flush();
            const pin = await index.pinSnapshot();
            pins.push({ collection: name, generation: generation.id, pin });
            snapshotSeq = pin.appliedSeq;
          }
          generations.push({ id: generation.id, state: generation.state, model: generation.model, backend: generation.backend, snapshot_seq: snapshotSeq });
        }
        collections.push({ name, documents: ctx.store.countDocuments(name), generations });
      }
      seq = ctx.store.lastSeq();
      await ctx.store.backup(join(dest, DB_FILE));
    });

    for (const { collection, generation, pin } of pins) {
      if (pin.files.length === 0) continue;
      const target = generationDir(dest, collection, generation);
      await mkdir(target, { recursive: true });
      for (const file of pin.files) await copyFile(join(pin.dir, file), join(target, file));
    }
  } finally {
    for (const { pin } of pins) pin.release();
  }

  const models = [...new Set(collections.flatMap((c) => c.generations.map((g) => g.model)))].sort();
  for (const model of models) {
    const version = await ctx.engines.resolve(model);
    await cp(version.dir, join(dest, MODELS, relative(resolve(ctx.config.modelsDir), version.dir)), { recursive: true });
  }

  const manifest: BackupManifest = {
    format: 1,
    created_at: new Date().toISOString(),
    seq,
    collections,
    models,
    bytes: await treeBytes(dest),
    ms: Math.round(performance.now() - started),
  };
  await writeFileDurably(join(dest, BACKUP_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { tempName: `${BACKUP_MANIFEST}.tmp` });
  log.info('backup written', { dir: dest, seq, collections: collections.length, bytes: manifest.bytes, ms: manifest.ms });
  return manifest;
}

/** Reads and checks a backup's BACKUP.json. */
export async function readBackupManifest(backupDir: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readFile(join(backupDir, BACKUP_MANIFEST), 'utf8');
  } catch {
    throw new InvalidInputError(`${backupDir} is not a complete Sextant backup (no ${BACKUP_MANIFEST})`);
  }
  const parsed = manifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new InvalidInputError(`${join(backupDir, BACKUP_MANIFEST)} is not a backup manifest: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * Copies a backup into `dataDir` (absent or empty) and its models into `modelsDir` (versions
 * already there are kept: a version's files never change once published). Run with no server
 * on `dataDir`; the first open replays nothing, since the snapshots hold the database's seq.
 */
export async function restoreDataDir(backupDir: string, dataDir: string, modelsDir: string): Promise<BackupManifest & { restoredModels: string[] }> {
  const manifest = await readBackupManifest(backupDir);
  if (!(await isEmptyOrAbsent(dataDir, LOCK_FILE))) throw new ConflictError(`data directory ${dataDir} is not empty; restore needs an empty one`);
  await mkdir(dataDir, { recursive: true });
  for (const entry of await readdir(backupDir, { withFileTypes: true })) {
    if (entry.name === MODELS || entry.name === BACKUP_MANIFEST) continue;
    await cp(join(backupDir, entry.name), join(dataDir, entry.name), { recursive: true });
  }
  const restoredModels: string[] = [];
  const modelsRoot = join(backupDir, MODELS);
  if (existsSync(modelsRoot)) {
    for (const name of await readdir(modelsRoot)) {
      for (const version of await readdir(join(modelsRoot, name))) {
        const target = join(modelsDir, name, version);
        if (existsSync(target)) continue;
        await cp(join(modelsRoot, name, version), target, { recursive: true });
        restoredModels.push(`${name}@${version}`);
      }
    }
  }
  log.info('backup restored', { from: backupDir, dataDir, seq: manifest.seq, models: restoredModels });
  return { ...manifest, restoredModels };
}
