/** `sextant/client`: the typed client for a Sextant server. */
export { ROUTES, SextantClient, type CallOptions, type OperationId, type SextantClientOptions } from './client.ts';
export * from './errors.ts';
export { retryAfterMs } from './transport.ts';
export type * from './types.ts';
