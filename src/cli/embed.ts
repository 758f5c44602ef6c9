/** `sextant embed [--model name@version] [--query] [--json] "text" ...` */
import { InvalidInputError } from '../errors.ts';
import { openEngine } from '../embedding/open.ts';
import { configFrom, parse } from './args.ts';

export async function embedCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    model: { type: 'string' },
    query: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  if (positionals.length === 0) throw new InvalidInputError('usage: sextant embed [--model name@version] [--query] [--json] "text" ...');
  const config = configFrom(values);
  const engine = await openEngine(config, values.model ?? config.defaultModel);
  try {
    const out = await engine.embed(positionals, values.query ? 'query' : 'document');
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ model: engine.id, dimensions: engine.dimensions, embeddings: out.vectors.map((v) => Array.from(v)), truncated: out.truncated })}\n`,
      );
    } else {
      out.vectors.forEach((v, i) => {
        const head = Array.from(v.subarray(0, 6), (x) => x.toFixed(4)).join(', ');
        process.stdout.write(`${engine.id} [${v.length}] tokens=${out.tokenCounts[i]}${out.truncated[i] ? ' (truncated)' : ''}  [${head}, …]\n`);
      });
    }
  } finally {
    await engine.close();
  }
}
