/** Shared flag handling: every command accepts the configuration flags that map to env vars. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config.ts';
import { InvalidInputError } from '../errors.ts';

export const configFlags = {
  'models-dir': { type: 'string' },
  'data-dir': { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  url: { type: 'string' },
  'api-key': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...configFlags, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new InvalidInputError((err as Error).message);
  }
}

export function configFrom(values: Partial<Record<keyof typeof configFlags, string | boolean | undefined>>): Config {
  const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);
  return loadConfig({
    modelsDir: str(values['models-dir']),
    dataDir: str(values['data-dir']),
    device: str(values.device),
    threads: str(values.threads),
    host: str(values.host),
    port: str(values.port),
    url: str(values.url),
    apiKey: str(values['api-key']),
  });
}
