/**
 * The model registry: versions on disk under `<modelsDir>/<name>/<version>/`, aliases in
 * `<modelsDir>/aliases.json`. Resolves references ('default', 'use-lite', 'use-lite@1'),
 * verifies checksums before anything is loaded, and builds the offline default on demand.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { InvalidInputError, ModelIntegrityError, ModelLoadError, ModelNotFoundError } from '../errors.ts';
import { log } from '../log.ts';
import { writeFileDurably } from '../util/durable-write.ts';
import { sha256File } from './files.ts';
import { MANIFEST_FILE, manifestSchema, modelId, type Manifest, type OnnxEntry } from './manifest.ts';

export const ALIASES_FILE = 'aliases.json';
export const DEFAULT_ALIAS = 'default';
export const DEFAULT_MODEL_ID = 'use-lite@1';

const aliasesSchema = z.record(z.string(), z.string());

export interface ModelVersion {
  readonly id: string;
  readonly dir: string;
  readonly manifest: Manifest;
}

/** The ONNX file a version runs with: the only one, or the first fp32 one when several exist. */
export function primaryOnnx(manifest: Manifest): OnnxEntry {
  return manifest.onnx.find((f) => f.dtype === 'fp32') ?? manifest.onnx[0]!;
}

export function parseModelRef(ref: string): { name: string; version?: string } {
  const at = ref.indexOf('@');
  return at < 0 ? { name: ref } : { name: ref.slice(0, at), version: ref.slice(at + 1) };
}

/** Compares versions so '10' sorts after '9' and '1-int8' after '1'. */
function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export class ModelRegistry {
  constructor(readonly dir: string) {}

  async readManifest(versionDir: string): Promise<Manifest> {
    const path = join(versionDir, MANIFEST_FILE);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw new ModelLoadError(`cannot read ${path}: ${(err as Error).message}`);
    }
    const parsed = manifestSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ModelLoadError(`invalid manifest ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    return parsed.data;
  }

  /** Every version with a valid manifest, sorted by name then version. Broken folders are logged and skipped. */
  async list(): Promise<ModelVersion[]> {
    const versions: ModelVersion[] = [];
    if (!existsSync(this.dir)) return versions;
    for (const name of (await readdir(this.dir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.'))) {
      for (const version of await readdir(join(this.dir, name.name), { withFileTypes: true })) {
        if (!version.isDirectory() || version.name.startsWith('.')) continue;
        const versionDir = join(this.dir, name.name, version.name);
        if (!existsSync(join(versionDir, MANIFEST_FILE))) continue;
        try {
          const manifest = await this.readManifest(versionDir);
          versions.push({ id: modelId(manifest), dir: versionDir, manifest });
        } catch (err) {
          log.warn('skipping unreadable model version', { dir: versionDir, err });
        }
      }
    }
    return versions.sort((a, b) => a.manifest.name.localeCompare(b.manifest.name) || compareVersions(a.manifest.version, b.manifest.version));
  }

  async aliases(): Promise<Record<string, string>> {
    const path = join(this.dir, ALIASES_FILE);
    if (!existsSync(path)) return {};
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw new ModelLoadError(`cannot read ${path}: ${(err as Error).message}`);
    }
    const parsed = aliasesSchema.safeParse(raw);
    if (!parsed.success) throw new ModelLoadError(`invalid ${path}: expected {"alias": "name@version"}`);
    return parsed.data;
  }

  /** Points `alias` at a version that must exist. */
  async setAlias(alias: string, target: string): Promise<void> {
    if (!/^[a-z0-9][a-z0-9._-]*$/i.test(alias) || alias.includes('@')) {
      throw new InvalidInputError(`invalid alias name '${alias}': letters, digits, '.', '_' or '-', no '@'`);
    }
    const version = await this.resolve(target);
    const aliases = await this.aliases();
    aliases[alias] = version.id;
    // this.dir exists: resolve() above found a version folder in it.
    await writeFileDurably(join(this.dir, ALIASES_FILE), `${JSON.stringify(aliases, null, 2)}\n`);
  }

  /**
   * Resolves an alias, 'name@version', or a bare name (its highest version) to a version folder.
   * Does not verify checksums: see `verify`.
   */
  async resolve(ref: string): Promise<ModelVersion> {
    const aliases = await this.aliases();
    // Own keys only: 'constructor' or 'toString' is not an alias unless one was set.
    const target = Object.hasOwn(aliases, ref) ? aliases[ref] : ref;
    const { name, version } = parseModelRef(target);
    const all = await this.list();
    const candidates = all.filter((v) => v.manifest.name === name && (version === undefined || v.manifest.version === version));
    const found = candidates.at(-1);
    if (!found) {
      const known = [...all.map((v) => v.id), ...Object.keys(aliases)].join(', ') || 'none';
      throw new ModelNotFoundError(`model '${ref}'${target !== ref ? ` (alias of ${target})` : ''} not found in ${this.dir}; known: ${known}`);
    }
    return found;
  }

  /** Checks every file the manifest lists against its sha256; throws naming the first file that differs. */
  async verify(version: ModelVersion): Promise<void> {
    for (const file of [...version.manifest.onnx, ...version.manifest.files]) {
      const path = join(version.dir, file.path);
      if (!existsSync(path)) throw new ModelIntegrityError(`model ${version.id}: file ${file.path} is missing`, { file: file.path });
      const actual = await sha256File(path);
      if (actual !== file.sha256) {
        throw new ModelIntegrityError(
          `model ${version.id}: file ${file.path} does not match its manifest checksum (expected sha256 ${file.sha256.slice(0, 12)}…, found ${actual.slice(0, 12)}…); it was modified or corrupted — restore it or rebuild the version`,
          { file: file.path, expected: file.sha256, actual },
        );
      }
    }
  }
}
