// Tests src/models/registry.ts: listing model versions, reading manifests, aliases, resolving references and verifying checksums.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, ModelIntegrityError, ModelLoadError, ModelNotFoundError } from '../../../src/errors.ts';
import { setLogLevel } from '../../../src/log.ts';
import { MANIFEST_FILE, type Manifest } from '../../../src/models/manifest.ts';
import { ALIASES_FILE, ModelRegistry, parseModelRef, primaryOnnx } from '../../../src/models/registry.ts';
import { importTinyBert } from '../../helpers/tiny-models.ts';

let root: string;
/** A tiny BERT imported once (tiny@1); tests copy it into registries of their own. */
let template: string;

beforeAll(async () => {
  setLogLevel('silent');
  root = await mkdtemp(join(tmpdir(), 'sextant-registry-'));
  template = (await importTinyBert(new ModelRegistry(join(root, 'template')), { name: 'tiny', version: '1', seed: 5 })).dir;
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
/** An empty models dir of the test's own. */
async function modelsDir(): Promise<string> {
  const dir = await mkdtemp(join(root, 'models-'));
  dirs.push(dir);
  return dir;
}

async function readJson<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** Copies the imported tiny BERT to `<dir>/<name>/<version>/` with its manifest renamed to match. */
async function addVersion(dir: string, name: string, version: string): Promise<string> {
  const target = join(dir, name, version);
  await cp(template, target, { recursive: true });
  const manifest = await readJson<Manifest>(join(target, MANIFEST_FILE));
  await writeFile(join(target, MANIFEST_FILE), JSON.stringify({ ...manifest, name, version }));
  return target;
}

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describe('listing versions', () => {
  it('lists nothing for a models dir that does not exist or is empty', async () => {
    expect(await new ModelRegistry(join(root, 'no-such-dir')).list()).toEqual([]);
    expect(await new ModelRegistry(await modelsDir()).list()).toEqual([]);
  });

  it('lists every version with a valid manifest, by name then version in numeric order', async () => {
    const dir = await modelsDir();
    for (const v of ['10', '2', '1-int8', '1']) await addVersion(dir, 'tiny', v);
    await addVersion(dir, 'alpha', '1');
    const listed = await new ModelRegistry(dir).list();
    expect(listed.map((v) => v.id)).toEqual(['alpha@1', 'tiny@1', 'tiny@1-int8', 'tiny@2', 'tiny@10']);
    const ten = listed.at(-1)!;
    expect(ten.dir).toBe(join(dir, 'tiny', '10'));
    expect(ten.manifest).toEqual(await readJson(join(dir, 'tiny', '10', MANIFEST_FILE)));
    expect(ten.manifest).toMatchObject({ name: 'tiny', version: '10', dimensions: 32, pooling: 'mean', tokenizer: { kind: 'huggingface' } });
  });

  it('skips hidden folders, stray files, folders without a manifest and broken manifests', async () => {
    const dir = await modelsDir();
    await addVersion(dir, 'tiny', '1');
    await addVersion(dir, '.staging', '1'); // a hidden name folder
    await addVersion(dir, 'tiny', '.2.tmp-123'); // an import's staging folder
    await mkdir(join(dir, 'tiny', '3')); // no manifest.json
    const badJson = await addVersion(dir, 'tiny', '4');
    await writeFile(join(badJson, MANIFEST_FILE), '{"format": 1,');
    const badSchema = await addVersion(dir, 'tiny', '5');
    await writeFile(join(badSchema, MANIFEST_FILE), JSON.stringify({ ...(await readJson(join(badSchema, MANIFEST_FILE))), dimensions: 0 }));
    await writeFile(join(dir, 'tiny', 'notes.txt'), 'not a version');
    await writeFile(join(dir, 'README'), 'not a model');
    expect((await new ModelRegistry(dir).list()).map((v) => v.id)).toEqual(['tiny@1']);
  });
});

describe('reading manifests', () => {
  it('returns the manifest as written', async () => {
    const dir = await modelsDir();
    const version = await addVersion(dir, 'tiny', '1');
    expect(await new ModelRegistry(dir).readManifest(version)).toEqual(await readJson(join(version, MANIFEST_FILE)));
  });

  it('rejects a missing or unparsable manifest, and one that breaks the schema, naming what is wrong', async () => {
    const dir = await modelsDir();
    const registry = new ModelRegistry(dir);
    const version = await addVersion(dir, 'tiny', '1');
    const path = join(version, MANIFEST_FILE);
    const manifest = await readJson(path);

    await expect(registry.readManifest(join(dir, 'tiny', '9'))).rejects.toThrow(ModelLoadError);
    await expect(registry.readManifest(join(dir, 'tiny', '9'))).rejects.toThrow(`cannot read ${join(dir, 'tiny', '9', MANIFEST_FILE)}`);

    await writeFile(path, 'not json');
    await expect(registry.readManifest(version)).rejects.toThrow(new RegExp(`^cannot read ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));

    await writeFile(path, JSON.stringify({ ...manifest, dimensions: -1, pooling: 'sum' }));
    const err = await registry.readManifest(version).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toContain(`invalid manifest ${path}: `);
    expect((err as Error).message).toContain('dimensions: ');
    expect((err as Error).message).toContain('pooling: ');

    await writeFile(path, JSON.stringify({ ...manifest, name: 'has@at' }));
    await expect(registry.readManifest(version)).rejects.toThrow(/invalid manifest .*name: /);
  });
});

describe('resolving references', () => {
  async function registryWith(...versions: string[]): Promise<{ dir: string; registry: ModelRegistry }> {
    const dir = await modelsDir();
    for (const v of versions) await addVersion(dir, 'tiny', v);
    return { dir, registry: new ModelRegistry(dir) };
  }

  it("resolves 'name@version' exactly and a bare name to its highest version", async () => {
    const { dir, registry } = await registryWith('1', '2', '9', '10', '1-int8');
    const two = await registry.resolve('tiny@2');
    expect(two.id).toBe('tiny@2');
    expect(two.dir).toBe(join(dir, 'tiny', '2'));
    expect(two.manifest.version).toBe('2');
    expect((await registry.resolve('tiny@1-int8')).id).toBe('tiny@1-int8');
    expect((await registry.resolve('tiny')).id).toBe('tiny@10'); // numeric, not '9' > '10' as text
  });

  it('rejects unknown names and versions, listing what is known', async () => {
    const { registry } = await registryWith('1', '2');
    await registry.setAlias('stable', 'tiny@1');
    for (const ref of ['other', 'other@1', 'tiny@3', 'tiny@', 'TINY@1', '']) {
      await expect(registry.resolve(ref), ref).rejects.toThrow(ModelNotFoundError);
    }
    await expect(registry.resolve('tiny@3')).rejects.toThrow(`model 'tiny@3' not found in ${registry.dir}; known: tiny@1, tiny@2, stable`);
    await expect(new ModelRegistry(await modelsDir()).resolve('tiny')).rejects.toThrow(/known: none$/);
  });

  it('an alias whose version was removed reports the alias and its target', async () => {
    const { dir, registry } = await registryWith('1', '2');
    await registry.setAlias('old', 'tiny@1');
    await rm(join(dir, 'tiny', '1'), { recursive: true });
    await expect(registry.resolve('old')).rejects.toThrow(`model 'old' (alias of tiny@1) not found in ${dir}; known: tiny@2, old`);
  });
});

describe('aliases', () => {
  it('has none until one is set; an alias pins the concrete version its target resolved to', async () => {
    const dir = await modelsDir();
    await addVersion(dir, 'tiny', '1');
    await addVersion(dir, 'tiny', '2');
    const registry = new ModelRegistry(dir);
    expect(await registry.aliases()).toEqual({});
    expect(existsSync(join(dir, ALIASES_FILE))).toBe(false);

    await registry.setAlias('stable', 'tiny');
    expect(await registry.aliases()).toEqual({ stable: 'tiny@2' });
    expect(await readJson(join(dir, ALIASES_FILE))).toEqual({ stable: 'tiny@2' });
    expect((await registry.resolve('stable')).id).toBe('tiny@2');

    // A newer version moves the bare name, not the alias.
    await addVersion(dir, 'tiny', '3');
    expect((await registry.resolve('tiny')).id).toBe('tiny@3');
    expect((await registry.resolve('stable')).id).toBe('tiny@2');

    // An alias of an alias stores the concrete version; re-pointing one keeps the others.
    await registry.setAlias('prod', 'stable');
    await registry.setAlias('stable', 'tiny@1');
    expect(await registry.aliases()).toEqual({ stable: 'tiny@1', prod: 'tiny@2' });
    expect((await registry.resolve('prod')).id).toBe('tiny@2');
    // Only model folders are listed: aliases.json and its temp files are not versions.
    expect((await registry.list()).map((v) => v.id)).toEqual(['tiny@1', 'tiny@2', 'tiny@3']);
  });

  it('refuses invalid alias names and unknown targets, writing nothing', async () => {
    const dir = await modelsDir();
    await addVersion(dir, 'tiny', '1');
    const registry = new ModelRegistry(dir);
    for (const name of ['', '-x', '.x', 'a@b', 'tiny@1', 'has space', 'a/b']) {
      await expect(registry.setAlias(name, 'tiny@1'), JSON.stringify(name)).rejects.toThrow(InvalidInputError);
    }
    await expect(registry.setAlias('ok', 'tiny@7')).rejects.toThrow(ModelNotFoundError);
    await expect(registry.setAlias('ok', 'nothing')).rejects.toThrow(ModelNotFoundError);
    expect(existsSync(join(dir, ALIASES_FILE))).toBe(false);
    // Names of letters, digits, '.', '_' and '-' are fine.
    await registry.setAlias('Prod_2.v-1', 'tiny@1');
    expect(await registry.aliases()).toEqual({ 'Prod_2.v-1': 'tiny@1' });
  });

  it('rejects an aliases file that is not a map of names to strings', async () => {
    const dir = await modelsDir();
    await addVersion(dir, 'tiny', '1');
    const registry = new ModelRegistry(dir);
    for (const content of [{ stable: 1 }, ['tiny@1'], { stable: { model: 'tiny@1' } }]) {
      await writeFile(join(dir, ALIASES_FILE), JSON.stringify(content));
      await expect(registry.aliases()).rejects.toThrow(ModelLoadError);
      await expect(registry.resolve('tiny@1')).rejects.toThrow(`invalid ${join(dir, ALIASES_FILE)}`);
    }
  });

  it('rejects an aliases file that is not JSON or cannot be read, naming the file, as a ModelLoadError', async () => {
    const dir = await modelsDir();
    await addVersion(dir, 'tiny', '1');
    const registry = new ModelRegistry(dir);
    const path = join(dir, ALIASES_FILE);
    const cannotRead = new RegExp(`^cannot read ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `);
    for (const content of ['{"stable": "tiny@1"', '', 'not json']) {
      await writeFile(path, content);
      const err = await registry.aliases().catch((e: unknown) => e);
      expect(err, JSON.stringify(content)).toBeInstanceOf(ModelLoadError);
      expect((err as Error).message).toMatch(cannotRead);
      await expect(registry.resolve('tiny@1')).rejects.toThrow(ModelLoadError);
      // Nothing is written over a file that could not be read.
      await expect(registry.setAlias('stable', 'tiny@1')).rejects.toThrow(cannotRead);
      expect(await readFile(path, 'utf8')).toBe(content);
    }
    await rm(path);
    await mkdir(path); // a folder where the file should be
    await expect(registry.aliases()).rejects.toThrow(cannotRead);
  });

  it("names Object.prototype has ('constructor', 'toString', '__proto__') are not aliases unless set", async () => {
    const dir = await modelsDir();
    await addVersion(dir, 'tiny', '1');
    const registry = new ModelRegistry(dir);
    for (const withFile of [false, true]) {
      if (withFile) await registry.setAlias('stable', 'tiny@1');
      for (const ref of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
        await expect(registry.resolve(ref), ref).rejects.toThrow(ModelNotFoundError);
      }
    }
    await registry.setAlias('constructor', 'tiny@1');
    expect((await registry.resolve('constructor')).id).toBe('tiny@1');
    expect(await registry.aliases()).toEqual({ stable: 'tiny@1', constructor: 'tiny@1' });
  });
});

describe('verifying checksums', () => {
  it('accepts an intact version', async () => {
    const dir = await modelsDir();
    await addVersion(dir, 'tiny', '1');
    const registry = new ModelRegistry(dir);
    const version = await registry.resolve('tiny@1');
    // Every file the folder holds for the model is listed: the ONNX graph, the tokenizer and the configs.
    expect(version.manifest.onnx.map((f) => f.path)).toEqual(['onnx/model.onnx']);
    expect(version.manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'tokenizer_config.json', '1_Pooling/config.json']));
    await expect(registry.verify(version)).resolves.toBeUndefined();
  });

  it('names a modified file with the expected and found checksums', async () => {
    const dir = await modelsDir();
    const folder = await addVersion(dir, 'tiny', '1');
    const registry = new ModelRegistry(dir);
    const version = await registry.resolve('tiny@1');
    const expected = await sha256(join(folder, 'tokenizer.json'));
    await appendFile(join(folder, 'tokenizer.json'), ' ');
    const actual = await sha256(join(folder, 'tokenizer.json'));
    expect(actual).not.toBe(expected);

    const err = (await registry.verify(version).catch((e: unknown) => e)) as ModelIntegrityError;
    expect(err).toBeInstanceOf(ModelIntegrityError);
    expect(err.details).toEqual({ file: 'tokenizer.json', expected, actual });
    expect(err.message).toContain(`model tiny@1: file tokenizer.json does not match its manifest checksum (expected sha256 ${expected.slice(0, 12)}…, found ${actual.slice(0, 12)}…)`);

    // The ONNX files are checked first.
    await appendFile(join(folder, 'onnx', 'model.onnx'), Buffer.from([1]));
    await expect(registry.verify(version)).rejects.toThrow(/file onnx\/model\.onnx does not match/);
  });

  it('names a missing file', async () => {
    const dir = await modelsDir();
    const folder = await addVersion(dir, 'tiny', '1');
    const registry = new ModelRegistry(dir);
    const version = await registry.resolve('tiny@1');
    await rm(join(folder, '1_Pooling', 'config.json'));
    const err = (await registry.verify(version).catch((e: unknown) => e)) as ModelIntegrityError;
    expect(err).toBeInstanceOf(ModelIntegrityError);
    expect(err.message).toBe('model tiny@1: file 1_Pooling/config.json is missing');
    expect(err.details).toEqual({ file: '1_Pooling/config.json' });
  });
});

describe('references and ONNX files', () => {
  it("parseModelRef splits 'name@version' at the first '@'", () => {
    expect(parseModelRef('tiny')).toEqual({ name: 'tiny' });
    expect(parseModelRef('tiny@1-int8')).toEqual({ name: 'tiny', version: '1-int8' });
    expect(parseModelRef('tiny@')).toEqual({ name: 'tiny', version: '' });
  });

  it('primaryOnnx takes the first fp32 file, else the first file', () => {
    const entry = (path: string, dtype: Manifest['onnx'][number]['dtype']) => ({ path, dtype, sha256: '0'.repeat(64), bytes: 1 });
    const only = { onnx: [entry('onnx/model_int8.onnx', 'int8')] } as Manifest;
    const mixed = { onnx: [entry('onnx/model_int8.onnx', 'int8'), entry('onnx/model.onnx', 'fp32'), entry('onnx/model_b.onnx', 'fp32')] } as Manifest;
    const noFp32 = { onnx: [entry('onnx/model_fp16.onnx', 'fp16'), entry('onnx/model_q4.onnx', 'q4')] } as Manifest;
    expect(primaryOnnx(only).path).toBe('onnx/model_int8.onnx');
    expect(primaryOnnx(mixed).path).toBe('onnx/model.onnx');
    expect(primaryOnnx(noFp32).path).toBe('onnx/model_fp16.onnx');
  });
});
