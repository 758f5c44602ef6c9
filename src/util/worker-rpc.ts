/**
 * Request/response calls to a worker thread, shared by the inference worker and the HNSW graph
 * worker. The client numbers each request, keeps one pending promise per request, and rejects
 * every pending (and later) call once the worker crashes or exits; the server side answers each
 * request by its number. Failures cross the thread as a message plus an optional, structured-
 * cloneable detail (e.g. how many points a failed add applied), which the client turns back into
 * the Error its callers expect.
 *
 * Both sides tag their messages (`rpc: 'request' | 'response'`), so a protocol can send other
 * messages over the same port (a ready handshake, a close) and handle them itself.
 *
 * The helper adds no ordering of its own: requests reach the worker in call order, and each is
 * answered when its handler settles. A worker that must run requests one at a time queues them
 * in its handler.
 */
import type { MessagePort, TransferListItem, Worker } from 'node:worker_threads';

export interface RpcRequest<Req> {
  readonly rpc: 'request';
  readonly id: number;
  readonly body: Req;
}

export type RpcResponse<Res, Detail = undefined> =
  | { readonly rpc: 'response'; readonly id: number; readonly ok: true; readonly value: Res }
  | { readonly rpc: 'response'; readonly id: number; readonly ok: false; readonly message: string; readonly detail?: Detail };

export interface RpcClientOptions<Detail> {
  /** The error a call rejects with when its handler failed in the worker (default: Error(message)). */
  readonly remoteError?: (message: string, detail: Detail | undefined) => Error;
  /** The error for pending and later calls once the worker emitted 'error' (default: the error itself). */
  readonly crashError?: (err: Error) => Error;
  /** The error for pending and later calls once the worker exited (default: "worker exited with code n"). */
  readonly exitError?: (code: number) => Error;
  /**
   * Keep the worker referenced only while a call is outstanding, so an idle worker does not keep
   * the process alive (default false: the worker's own ref state is left alone).
   */
  readonly refWhileBusy?: boolean;
  /** Called once, with the first crash/exit error. */
  readonly onFailure?: (err: Error) => void;
}

interface Pending<Res> {
  resolve(value: Res): void;
  reject(err: Error): void;
}

export class RpcClient<Req, Res, Detail = undefined> {
  private readonly pending = new Map<number, Pending<Res>>();
  private nextId = 1;
  private failed: Error | undefined;

  constructor(
    private readonly worker: Worker,
    private readonly options: RpcClientOptions<Detail> = {},
  ) {
    if (options.refWhileBusy) worker.unref();
    worker.on('message', (m: unknown) => {
      if (!isResponse<Res, Detail>(m)) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.settled(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(options.remoteError ? options.remoteError(m.message, m.detail) : new Error(m.message));
    });
    worker.on('error', (err) => this.fail(options.crashError ? options.crashError(err) : err));
    worker.on('exit', (code) => this.fail(options.exitError ? options.exitError(code) : new Error(`worker exited with code ${code}`)));
  }

  /** The error that ended the worker, once it crashed or exited; every call rejects with it. */
  get failure(): Error | undefined {
    return this.failed;
  }

  /** Calls sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends `request` (moving the buffers in `transfer` to the worker) and resolves with the
   * worker's answer. `R` narrows the response type where the request determines it.
   */
  call<R extends Res = Res>(request: Req, transfer: readonly TransferListItem[] = []): Promise<R> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      if (this.pending.size === 0 && this.options.refWhileBusy) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (value: Res) => void, reject });
      try {
        this.worker.postMessage({ rpc: 'request', id, body: request } satisfies RpcRequest<Req>, transfer);
      } catch (err) {
        // Not cloneable or not transferable: nothing reached the worker.
        this.settled(id);
        reject(err as Error);
      }
    });
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0 && this.options.refWhileBusy) this.worker.unref();
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
    this.options.onFailure?.(err);
  }
}

export interface RpcServerOptions<Res, Detail> {
  /** Buffers of a response to move rather than copy back to the caller. */
  readonly transfer?: (value: Res) => readonly TransferListItem[];
  /** Structured-cloneable detail sent along with a failure's message. */
  readonly errorDetail?: (err: unknown) => Detail | undefined;
}

/**
 * Answers RpcClient requests arriving on `port` (the worker's parentPort) with `handle`'s result
 * or failure. Messages that are not RPC requests are left to the port's other listeners.
 */
export function serveRpc<Req, Res, Detail = undefined>(
  port: MessagePort,
  handle: (request: Req) => Res | Promise<Res>,
  options: RpcServerOptions<Res, Detail> = {},
): void {
  const fail = (id: number, err: unknown) => {
    const detail = options.errorDetail?.(err);
    const message = err instanceof Error ? err.message : String(err);
    port.postMessage({ rpc: 'response', id, ok: false, message, ...(detail !== undefined ? { detail } : {}) } satisfies RpcResponse<Res, Detail>);
  };
  port.on('message', (m: unknown) => {
    if (!isRequest<Req>(m)) return;
    const { id } = m;
    let result: Promise<Res>;
    try {
      result = Promise.resolve(handle(m.body));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (value) => {
        try {
          port.postMessage({ rpc: 'response', id, ok: true, value } satisfies RpcResponse<Res, Detail>, options.transfer?.(value) ?? []);
        } catch (err) {
          // The value could not be sent back (not cloneable): report that instead of dying.
          fail(id, err);
        }
      },
      (err: unknown) => fail(id, err),
    );
  });
}

function isRequest<Req>(m: unknown): m is RpcRequest<Req> {
  return typeof m === 'object' && m !== null && (m as { rpc?: unknown }).rpc === 'request';
}

function isResponse<Res, Detail>(m: unknown): m is RpcResponse<Res, Detail> {
  return typeof m === 'object' && m !== null && (m as { rpc?: unknown }).rpc === 'response';
}
