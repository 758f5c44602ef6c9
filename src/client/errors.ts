/**
 * Errors the typed client throws: one class per API error code, each carrying the HTTP
 * `status`, the server's `code` and `details`. Codes the client does not know yet arrive as
 * the base class, with the code as sent.
 */
import { SextantError } from '../errors.ts';

export class SextantApiError extends SextantError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    details?: Readonly<Record<string, unknown>>,
  ) {
    super(message, details);
  }
}

type ApiErrorClass = new (status: number, message: string, details?: Readonly<Record<string, unknown>>) => SextantApiError;

function errorClass(code: string): ApiErrorClass {
  return class extends SextantApiError {
    constructor(status: number, message: string, details?: Readonly<Record<string, unknown>>) {
      super(status, code, message, details);
    }
  };
}

// One class per code the server sends (src/api/errors.ts); `instanceof` tells them apart.
export class InvalidInputApiError extends errorClass('invalid_input') {}
export class EmptyTextApiError extends errorClass('empty_text') {}
export class InvalidVectorApiError extends errorClass('invalid_vector') {}
export class InvalidJsonApiError extends errorClass('invalid_json') {}
export class UnauthorizedApiError extends errorClass('unauthorized') {}
export class ForbiddenApiError extends errorClass('forbidden') {}
export class NotFoundApiError extends errorClass('not_found') {}
export class ModelNotFoundApiError extends errorClass('model_not_found') {}
export class CollectionNotFoundApiError extends errorClass('collection_not_found') {}
export class DocumentNotFoundApiError extends errorClass('document_not_found') {}
export class JobNotFoundApiError extends errorClass('job_not_found') {}
export class CollectionExistsApiError extends errorClass('collection_exists') {}
export class ModelExistsApiError extends errorClass('model_exists') {}
export class ConflictApiError extends errorClass('conflict') {}
export class PayloadTooLargeApiError extends errorClass('payload_too_large') {}
export class RateLimitedApiError extends errorClass('rate_limited') {}
export class OverloadedApiError extends errorClass('overloaded') {}
export class ModelIntegrityApiError extends errorClass('model_integrity') {}
export class ModelLoadFailedApiError extends errorClass('model_load_failed') {}
export class InvalidConfigApiError extends errorClass('invalid_config') {}
export class DataDirLockedApiError extends errorClass('data_dir_locked') {}
export class BackendAuthFailedApiError extends errorClass('backend_auth_failed') {}
export class BackendNotFoundApiError extends errorClass('backend_not_found') {}
export class BackendUnavailableApiError extends errorClass('backend_unavailable') {}
export class EngineClosedApiError extends errorClass('engine_closed') {}
export class InternalApiError extends errorClass('internal') {}

export const ERROR_CLASSES: Readonly<Record<string, ApiErrorClass>> = {
  invalid_input: InvalidInputApiError,
  empty_text: EmptyTextApiError,
  invalid_vector: InvalidVectorApiError,
  invalid_json: InvalidJsonApiError,
  unauthorized: UnauthorizedApiError,
  forbidden: ForbiddenApiError,
  not_found: NotFoundApiError,
  model_not_found: ModelNotFoundApiError,
  collection_not_found: CollectionNotFoundApiError,
  document_not_found: DocumentNotFoundApiError,
  job_not_found: JobNotFoundApiError,
  collection_exists: CollectionExistsApiError,
  model_exists: ModelExistsApiError,
  conflict: ConflictApiError,
  payload_too_large: PayloadTooLargeApiError,
  rate_limited: RateLimitedApiError,
  overloaded: OverloadedApiError,
  model_integrity: ModelIntegrityApiError,
  model_load_failed: ModelLoadFailedApiError,
  invalid_config: InvalidConfigApiError,
  data_dir_locked: DataDirLockedApiError,
  backend_auth_failed: BackendAuthFailedApiError,
  backend_not_found: BackendNotFoundApiError,
  backend_unavailable: BackendUnavailableApiError,
  engine_closed: EngineClosedApiError,
  internal: InternalApiError,
};

/** The server answered with an error body (or a non-JSON error page). */
export function apiError(status: number, code: string, message: string, details?: Readonly<Record<string, unknown>>): SextantApiError {
  const Class = ERROR_CLASSES[code];
  return Class ? new Class(status, message, details) : new SextantApiError(status, code, message, details);
}

/** The server could not be reached (refused, reset, DNS); `status` is 0. */
export class ConnectionApiError extends SextantApiError {
  constructor(message: string) {
    super(0, 'unreachable', message);
  }
}

/** No answer within `timeoutMs`; `status` is 0. */
export class TimeoutApiError extends SextantApiError {
  constructor(message: string) {
    super(0, 'timeout', message);
  }
}

/** The caller's AbortSignal fired; `status` is 0. */
export class AbortedApiError extends SextantApiError {
  constructor(message: string) {
    super(0, 'aborted', message);
  }
}
