/** The `sextant` command: dispatches to one module per command; errors become one clear line and exit code. */
import { SextantError } from '../errors.ts';
import { backupCommand, restoreCommand } from './backup-command.ts';
import { embedCommand } from './embed.ts';
import { auditCommand } from './audit-command.ts';
import { evalCommand } from './eval-command.ts';
import { modelsCommand } from './models.ts';
import { indexCommand } from './index-command.ts';
import { reembedCommand } from './reembed-command.ts';
import { searchCommand } from './search-command.ts';
import { serveCommand } from './serve.ts';
import { trainCommand } from './train-command.ts';
import { tuneCommand } from './tune-command.ts';

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  embed: embedCommand,
  models: modelsCommand,
  serve: serveCommand,
  index: indexCommand,
  search: searchCommand,
  eval: evalCommand,
  audit: auditCommand,
  tune: tuneCommand,
  reembed: reembedCommand,
  train: trainCommand,
  backup: backupCommand,
  restore: restoreCommand,
};

const HELP = `sextant — semantic search service

  sextant serve [--host 127.0.0.1] [--port 8080] [--data-dir ./indexes]
  sextant index <collection> <file.jsonl|file.csv> [--id-field] [--text-field] [--title-field] [--batch-size]
  sextant search <collection> "query" [--mode dense|keyword|hybrid] [--k 10] [--alpha A] [--explain] [--json]
  sextant eval <collection> --dataset <BEIR folder> [--json] [--compare <generation|model>] [--register [--margin 0.01]]
  sextant audit <collection> --queries <file|BEIR folder> --group-by <field> [--mode dense|keyword|hybrid] [--k 10] [--compare <generation|model>] [--bootstrap 1000] [--seed 1] [--json]
  sextant tune <collection> --dataset <BEIR folder> [--target-recall 0.95] [--dry-run] [--json]
  sextant reembed <collection> [--model name@version] [--follow]
  sextant train <collection> [--kind adapter|static] [--epochs N] [--seed N] [--gate dense|hybrid] [--activate] [--follow] [--json]
  sextant backup <dir>                       consistent copy of the data directory (with --url: of the server's)
  sextant restore <dir>                      a backup into an empty --data-dir (no server running on it)
  sextant embed [--model name@version] [--query] [--json] "text" ...
  sextant models list [--json]
  sextant models prepare                     build the offline default model (USE-Lite) if missing
  sextant models import <folder> --name <n> [--version <v>] [--matryoshka 256,128]
  sextant models alias <alias> <name@version>

Common flags: --models-dir, --data-dir, --device cpu|cuda, --threads N, --url URL (talk to a running
server), --api-key KEY (see README for the environment variables)`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${HELP}\n`);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`sextant: unknown command '${command}'\n\n${HELP}\n`);
    return 2;
  }
  try {
    await run(rest);
    return 0;
  } catch (err) {
    if (err instanceof SextantError) {
      process.stderr.write(`sextant ${command}: ${err.message}\n`);
      return err.code === 'invalid_input' ? 2 : 1;
    }
    throw err;
  }
}
