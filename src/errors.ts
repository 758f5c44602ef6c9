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

export class CollectionNotFoundError extends SextantError {
  readonly code = 'collection_not_found';
}

export class CollectionExistsError extends SextantError {
  readonly code = 'collection_exists';
}

export class DocumentNotFoundError extends SextantError {
  readonly code = 'document_not_found';
}

/** A vector whose length differs from the index's dimensions, or that holds NaN/Infinity. */
export class InvalidVectorError extends SextantError {
  readonly code = 'invalid_vector';
}

/** The remote index rejected our credentials. */
export class BackendAuthError extends SextantError {
  readonly code = 'backend_auth_failed';
}

/** The remote index or namespace does not exist. */
export class BackendNotFoundError extends SextantError {
  readonly code = 'backend_not_found';
}

/** The remote index failed or could not be reached; retrying may help. */
export class BackendUnavailableError extends SextantError {
  readonly code = 'backend_unavailable';
}

/** Another process holds the data directory. */
export class DataDirLockedError extends SextantError {
  readonly code = 'data_dir_locked';
}

export class UnauthorizedError extends SextantError {
  readonly code = 'unauthorized';
}

export class ForbiddenError extends SextantError {
  readonly code = 'forbidden';
}

export class RateLimitedError extends SextantError {
  readonly code = 'rate_limited';
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message, { retry_after_seconds: retryAfterSeconds });
  }
}

export class PayloadTooLargeError extends SextantError {
  readonly code = 'payload_too_large';
}

/** The operation conflicts with the resource's current state (e.g. a job already running). */
export class ConflictError extends SextantError {
  readonly code = 'conflict';
}

export class JobNotFoundError extends SextantError {
  readonly code = 'job_not_found';
}
