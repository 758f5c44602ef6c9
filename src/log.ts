/**
 * Structured logs on pino: one JSON object per line on stderr, so stdout stays clean for command
 * output (e.g. `sextant embed --json`). Lines look like
 * `{"level":"info","time":"2025-01-01T00:00:00.000Z","msg":"sextant listening","url":"…"}`:
 * `level` is the label, `time` ISO 8601, and the call's fields follow `msg` in the order given.
 *
 * - Errors go under one field, `err`, with pino's standard shape `{type, message, stack, …}`; an
 *   Error passed as `error` is moved to `err`, and an Error under any other field is serialised the
 *   same way rather than dropped to `{}`.
 * - API keys are redacted (`authorization` headers, `apiKey`/`api_key`/`apiKeys`, the env names).
 * - Writes are synchronous (fd 2), so a process killed right after logging keeps its lines.
 */
import { pino, type DestinationStream, type LevelWithSilent } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

function parseLevel(value: string | undefined): LogLevel {
  return LEVELS.includes(value as LogLevel) ? (value as LogLevel) : 'info';
}

const SECRET_KEYS = ['apiKey', 'api_key', 'apiKeys', 'api_keys', 'SEXTANT_API_KEYS', 'SEXTANT_API_KEY', 'pineconeApiKey', 'PINECONE_API_KEY', 'authorization', 'Authorization'];
/** Top level, one level down (`config.apiKeys`, `headers.authorization`) and under any `headers` object. */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`]),
  ...['authorization', 'Authorization', '["x-api-key"]'].map((h) => `*.headers${h.startsWith('[') ? h : `.${h}`}`),
  'headers["x-api-key"]',
];

/**
 * Synchronous writes to fd 2. When something has replaced `process.stderr.write` (a test spying
 * on it, a tool capturing output), lines go through it instead so it still sees them.
 */
const stderrSync = pino.destination({ fd: 2, sync: true });
const nativeStderrWrite = process.stderr.write;
const destination: DestinationStream = {
  write(line: string) {
    if (process.stderr.write !== nativeStderrWrite) process.stderr.write(line);
    else stderrSync.write(line);
  },
};

const root = pino(
  {
    level: parseLevel(process.env.SEXTANT_LOG_LEVEL),
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  },
  destination,
);

export function setLogLevel(level: LogLevel): void {
  root.level = level satisfies LevelWithSilent;
}

/** `msg` first, then the fields; Errors under `err` (or serialised where they are). */
function entry(msg: string, base: LogFields, fields: LogFields | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { msg };
  const hasErr = (fields !== undefined && fields.err !== undefined) || base.err !== undefined;
  for (const source of fields === undefined ? [base] : [base, fields]) {
    for (const [key, value] of Object.entries(source)) {
      if (key === 'error' && value instanceof Error && !hasErr) out.err = value;
      else if (key !== 'err' && value instanceof Error) out[key] = pino.stdSerializers.err(value);
      else out[key] = value;
    }
  }
  return out;
}

function make(base: LogFields): Logger {
  const at = (level: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: LogFields) => {
    if (root.isLevelEnabled(level)) root[level](entry(msg, base, fields));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (fields) => make({ ...base, ...fields }) };
}

export const log: Logger = make({});
