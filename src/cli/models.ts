/** `sextant models list | prepare | import <folder> --name N [--version V] | alias <alias> <name@version>` */
import { InvalidInputError } from '../errors.ts';
import { openRegistry } from '../embedding/open.ts';
import { ensureDefaultModel } from '../models/default-model.ts';
import { importHuggingFaceFolder } from '../models/hf-import.ts';
import { primaryOnnx } from '../models/registry.ts';
import { configFrom, parse } from './args.ts';

const USAGE = 'usage: sextant models list [--json] | prepare | import <folder> --name <name> [--version <v>] [--matryoshka 256,128] | alias <alias> <name@version>';

export async function modelsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse(rest, {
    json: { type: 'boolean', default: false },
    name: { type: 'string' },
    version: { type: 'string' },
    matryoshka: { type: 'string' },
  });
  const config = configFrom(values);
  const registry = openRegistry(config);
  switch (sub) {
    case 'list': {
      await ensureDefaultModel(registry);
      const [versions, aliases] = await Promise.all([registry.list(), registry.aliases()]);
      if (values.json) {
        const rows = versions.map((v) => ({
          id: v.id,
          dimensions: v.manifest.dimensions,
          dtype: primaryOnnx(v.manifest).dtype,
          max_tokens: v.manifest.maxTokens,
          aliases: Object.entries(aliases).filter(([, t]) => t === v.id).map(([a]) => a),
          path: v.dir,
        }));
        process.stdout.write(`${JSON.stringify({ models: rows, aliases })}\n`);
        return;
      }
      process.stdout.write(`${'MODEL'.padEnd(24)}${'DIM'.padEnd(6)}${'DTYPE'.padEnd(7)}${'MAX TOK'.padEnd(9)}ALIASES\n`);
      for (const v of versions) {
        const names = Object.entries(aliases).filter(([, t]) => t === v.id).map(([a]) => a).join(', ');
        process.stdout.write(
          `${v.id.padEnd(24)}${String(v.manifest.dimensions).padEnd(6)}${primaryOnnx(v.manifest).dtype.padEnd(7)}${String(v.manifest.maxTokens).padEnd(9)}${names}\n`,
        );
      }
      return;
    }
    case 'prepare':
      await ensureDefaultModel(registry);
      process.stdout.write(`default model ready in ${registry.dir}\n`);
      return;
    case 'import': {
      const [folder] = positionals;
      if (!folder || !values.name) throw new InvalidInputError(USAGE);
      const matryoshka = values.matryoshka?.split(',').map((d) => Number(d.trim()));
      if (matryoshka?.some((d) => !Number.isInteger(d) || d <= 0)) throw new InvalidInputError(`--matryoshka takes whole numbers separated by commas; got '${values.matryoshka}'`);
      const version = await importHuggingFaceFolder(registry, folder, { name: values.name, version: values.version, matryoshka });
      process.stdout.write(`imported ${version.id} (${version.manifest.dimensions} dimensions, ${version.manifest.pooling} pooling) into ${version.dir}\n`);
      return;
    }
    case 'alias': {
      const [alias, target] = positionals;
      if (!alias || !target) throw new InvalidInputError(USAGE);
      await registry.setAlias(alias, target);
      process.stdout.write(`${alias} -> ${(await registry.resolve(alias)).id}\n`);
      return;
    }
    default:
      throw new InvalidInputError(USAGE);
  }
}
