/** `sextant serve [--host] [--port] [--data-dir] [--models-dir]` — what `npm start` runs. */
import { startServer } from '../api/server.ts';
import { log } from '../log.ts';
import { configFrom, parse } from './args.ts';

export async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {});
  const server = await startServer(configFrom(values));
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('shutting down', { signal });
      server.close().then(resolve, (err: unknown) => {
        log.error('shutdown failed', { err });
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
