/**
 * What both kinds of trained version share: their names (`<collection>-adapter@N`,
 * `<collection>-static@N`), their lineage, copying the parent's tokenizer files, and publishing a
 * finished folder atomically.
 *
 * A version is assembled in a hidden staging folder beside its target (`<modelsDir>/<name>/.staging-…`,
 * which the registry skips), every file fsynced, the manifest written last, then renamed into place in
 * one step: a crash never leaves a folder that looks like a version. When another writer took the
 * version number meanwhile, the rename fails and the next number is tried.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { InvalidInputError } from '../../errors.ts';
import { fsyncDir, fsyncFile, writeFileSynced } from '../../util/durable-write.ts';
import { removeStaleFolders } from '../../util/stale-folders.ts';
import { describeFile } from '../files.ts';
import { MANIFEST_FILE, lineageSchema, manifestSchema, modelId, type FileEntry, type Lineage, type Manifest } from '../manifest.ts';
import { ModelRegistry, type ModelVersion } from '../registry.ts';

export type TrainedKind = Lineage['kind'];

/**
 * The lineage a caller gives: `kind` follows from the function called; `parent` defaults to (and
 * must equal) the parent version's id; `createdAt` defaults to now.
 */
export type TrainedLineageInput = Omit<Lineage, 'kind' | 'parent' | 'createdAt'> & {
  readonly parent?: string;
  readonly createdAt?: string;
};

export interface TrainedVersionName {
  /** `<collection>-<kind>` */
  readonly name: string;
  /** '1', '2', … */
  readonly version: string;
  /** name@version */
  readonly id: string;
}

const MODEL_NAME = /^[a-z0-9][a-z0-9._-]*$/i;

export function trainedModelName(collection: string, kind: TrainedKind): string {
  const name = `${collection}-${kind}`;
  if (!MODEL_NAME.test(name)) {
    throw new InvalidInputError(`collection name '${collection}' cannot name a model (letters, digits, '.', '_', '-', starting with a letter or digit)`);
  }
  return name;
}

/**
 * The next free version of `<collection>-<kind>`: one more than the highest integer version among the
 * registry's manifests of that name and the folders under `<modelsDir>/<name>/` (a folder without a
 * manifest, e.g. debris, still takes its number). Starts at 1.
 */
export async function nextTrainedVersion(modelsDir: string, collection: string, kind: TrainedKind): Promise<TrainedVersionName> {
  const name = trainedModelName(collection, kind);
  const taken: number[] = [];
  const folder = join(modelsDir, name);
  if (existsSync(folder)) {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.isDirectory() && /^\d+$/.test(entry.name)) taken.push(Number(entry.name));
    }
  }
  for (const v of await new ModelRegistry(modelsDir).list()) {
    if (v.manifest.name === name && /^\d+$/.test(v.manifest.version)) taken.push(Number(v.manifest.version));
  }
  const version = String(1 + Math.max(0, ...taken));
  return { name, version, id: modelId({ name, version }) };
}

export function completeLineage(kind: TrainedKind, parent: ModelVersion, input: TrainedLineageInput): Lineage {
  if (input.parent !== undefined && input.parent !== parent.id) {
    throw new InvalidInputError(`lineage.parent is ${input.parent} but the model is built from ${parent.id}`);
  }
  const parsed = lineageSchema.safeParse({ ...input, kind, parent: parent.id, createdAt: input.createdAt ?? new Date().toISOString() });
  if (!parsed.success) {
    throw new InvalidInputError(`invalid lineage: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** A path relative to a folder that stays inside it ('a/b.bin', not '/x' or '../x'). */
export function safeRelativePath(path: string): string | undefined {
  if (path.length === 0 || isAbsolute(path) || path.includes('\0')) return undefined;
  const n = normalize(path);
  if (n === '..' || n.startsWith(`..${sep}`) || n === '.') return undefined;
  return n.split(sep).join('/');
}

/** Copies a file into the staging folder (fsynced) and describes it for the manifest. */
export async function stageCopy(staging: string, from: string, relativePath: string): Promise<FileEntry> {
  const to = join(staging, relativePath);
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
  await fsyncFile(to);
  return describeFile(staging, relativePath);
}

export async function stageWrite(staging: string, relativePath: string, data: Uint8Array | string): Promise<FileEntry> {
  const to = join(staging, relativePath);
  await mkdir(dirname(to), { recursive: true });
  await writeFileSynced(to, data);
  return describeFile(staging, relativePath);
}

/** An adapter's W as raw little-endian float32, d·d values row-major (listed in its manifest's `files`; src/models/trained/adapter.ts). */
export const ADAPTER_WEIGHTS_PATH = 'adapter.bin';

/**
 * Copies the parent's non-ONNX files (tokenizer, configs) unchanged; not a parent adapter's own
 * adapter.bin, which describes the parent, not the version built on it.
 */
export async function stageParentFiles(staging: string, parent: ModelVersion): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  for (const f of parent.manifest.files) {
    if (f.path === ADAPTER_WEIGHTS_PATH && parent.manifest.lineage?.kind === 'adapter') continue;
    const rel = safeRelativePath(f.path);
    if (!rel) throw new InvalidInputError(`model ${parent.id} lists a file outside its folder: ${f.path}`);
    out.push(await stageCopy(staging, join(parent.dir, rel), rel));
  }
  return out;
}

async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await fsyncTree(join(dir, entry.name));
  }
  await fsyncDir(dir);
}

export type ManifestBody = Omit<Manifest, 'name' | 'version'>;

const MAX_ATTEMPTS = 20;

/**
 * Builds a version of `<collection>-<kind>` in a staging folder (`build` writes its files there and
 * returns the manifest without name and version), then publishes it under the next free number.
 */
export async function publishTrainedVersion(
  modelsDir: string,
  collection: string,
  kind: TrainedKind,
  build: (staging: string) => Promise<ManifestBody>,
): Promise<ModelVersion> {
  const name = trainedModelName(collection, kind);
  const folder = join(modelsDir, name);
  await mkdir(folder, { recursive: true });
  await removeStaleFolders(folder, /^\.staging-(\d+)-[0-9a-f]+$/);
  const staging = join(folder, `.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(staging);
  try {
    const body = await build(staging);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { version } = await nextTrainedVersion(modelsDir, collection, kind);
      const manifest = manifestSchema.parse({ ...body, name, version });
      // Written last (and rewritten when the number changes): a folder only counts once its manifest exists.
      await writeFileSynced(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      await fsyncTree(staging);
      const target = join(folder, version);
      try {
        await rename(staging, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // rename(2) refuses to replace a non-empty folder: another writer published this number first.
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EPERM') continue;
        throw err;
      }
      await fsyncDir(folder);
      return { id: modelId(manifest), dir: target, manifest };
    }
    throw new Error(`could not find a free version number for ${name} after ${MAX_ATTEMPTS} attempts`);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

/** Checks the parent's files against its manifest before anything is derived from them. */
export async function verifyParent(modelsDir: string, parent: ModelVersion): Promise<void> {
  await new ModelRegistry(modelsDir).verify(parent);
}
