/** The fetch the Pinecone SDK runs and the wrapper every SDK call goes through: one deadline per call, and a trace of what came back. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mapError } from './errors.ts';
import type { CallTrace } from './errors.ts';

interface ActiveCall {
  readonly trace: CallTrace;
  /** Aborts when the call's time is up: the attempt in flight, and any retry the SDK starts later. */
  readonly deadline: AbortSignal;
}

const calls = new AsyncLocalStorage<ActiveCall>();

/**
 * The fetch the SDK runs (inside its retry loop): bounds each attempt by the call's deadline and
 * records what came back. Error bodies are read here and handed on as a fresh Response so that a
 * retried 5xx does not leave an unread body holding its connection. Outside `call` (which the
 * index never does) an attempt gets `fallbackTimeoutMs` of its own.
 */
export function tracingFetch(fallbackTimeoutMs: number): typeof fetch {
  return async (input, init) => {
    const active = calls.getStore();
    const trace = active?.trace;
    const deadline = active?.deadline ?? AbortSignal.timeout(fallbackTimeoutMs);
    if (deadline.aborted) {
      // A retry the SDK started after its backoff outlived the call: no request.
      if (trace !== undefined) trace.timedOut = true;
      throw deadline.reason;
    }
    if (trace !== undefined) {
      trace.attempts++;
      trace.status = undefined;
      trace.body = undefined;
    }
    const signal = init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    let response: Response;
    try {
      response = await fetch(input, { ...init, signal });
    } catch (e) {
      if (trace !== undefined && deadline.aborted) trace.timedOut = true;
      throw e;
    }
    if (trace !== undefined) trace.status = response.status;
    if (response.ok) return response;
    let text = '';
    try {
      text = await response.text();
    } catch (e) {
      if (trace !== undefined && deadline.aborted) trace.timedOut = true;
      throw e;
    }
    if (trace !== undefined) trace.body = text.slice(0, 1000);
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/**
 * Runs one SDK call with a deadline `timeoutMs` from now that covers all its attempts and the
 * SDK's backoff between them (the backoff sleep itself cannot be interrupted, so the call is
 * answered at the deadline and the SDK's next attempt, if any, is refused without a request).
 * Errors come out as Sextant errors (errors.ts); running out of time is BackendUnavailableError.
 */
export async function call<T>(op: string, host: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const trace: CallTrace = { attempts: 0, timedOut: false };
  const controller = new AbortController();
  let expire: (reason: unknown) => void = () => {};
  const expired = new Promise<never>((_, reject) => {
    expire = reject;
  });
  const timer = setTimeout(() => {
    const reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    controller.abort(reason);
    expire(reason);
  }, timeoutMs);
  timer.unref();
  const work = calls.run({ trace, deadline: controller.signal }, async () => fn());
  try {
    return await Promise.race([work, expired]);
  } catch (e) {
    if (controller.signal.aborted) trace.timedOut = true;
    throw mapError(e, op, host, trace, timeoutMs);
  } finally {
    clearTimeout(timer);
    // Whichever lost the race settles unobserved.
    work.catch(() => undefined);
    expired.catch(() => undefined);
  }
}
