/**
 * One error class per failure kind. Each carries a stable machine-readable `code`;
 * the HTTP layer maps codes to status codes in one table, the CLI prints the message.
 */
export abstract class SextantError extends Error {
  abstract readonly code: string;
  constructor(
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input that can never succeed as sent (wrong type, out of range, malformed). */
export class InvalidInputError extends SextantError {
  readonly code = 'invalid_input';
}

/** A text that is empty or only whitespace: nothing to embed. */
export class EmptyTextError extends SextantError {
  readonly code = 'empty_text';
}

export class ModelNotFoundError extends SextantError {
  readonly code = 'model_not_found';
}

/** A model file does not match the checksum its manifest recorded. */
export class ModelIntegrityError extends SextantError {
  readonly code = 'model_integrity';
}

/** A model folder that cannot be used: bad manifest, missing files, unloadable graph. */
export class ModelLoadError extends SextantError {
  readonly code = 'model_load_failed';
}

export class ModelExistsError extends SextantError {
  readonly code = 'model_exists';
}

/** The embedding queue is full; the caller should retry after `retryAfterSeconds`. */
export class OverloadedError extends SextantError {
  readonly code = 'overloaded';
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message, { retry_after_seconds: retryAfterSeconds });
  }
}

/** The engine was closed while work was pending or arrived after close. */
export class EngineClosedError extends SextantError {
  readonly code = 'engine_closed';
}

export class ConfigError extends SextantError {
  readonly code = 'invalid_config';
}
