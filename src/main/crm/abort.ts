// Work the app abandons (the outbox closing when the user quits) is aborted, not waited for. The
// outbox runs each step inside an abort scope; crmFetch, the request budget, the retry sleeps and
// the recording download read the signal from it, so the adapters need not pass a signal through
// every request they make.
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout } from 'node:timers/promises';

const scope = new AsyncLocalStorage<AbortSignal>();

/** Runs `work` so that everything it awaits through this module stops when `signal` aborts. */
export function runAbortable<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  return scope.run(signal, work);
}

/** The signal of the scope this code runs in, if any. */
export function currentAbortSignal(): AbortSignal | undefined {
  return scope.getStore();
}

/** A sleep that ends early, rejecting with the abort reason, when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined = currentAbortSignal()): Promise<void> {
  // timers/promises rejects with its own AbortError; the work here ends with the reason it was aborted for.
  return setTimeout(ms, undefined, { signal }).catch((error: unknown) => {
    throw signal?.aborted ? signal.reason : error;
  });
}

/** `work`'s result, or the abort reason as soon as the signal aborts (for calls that take no signal). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined = currentAbortSignal()): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
