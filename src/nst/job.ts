/**
 * The preemptible job API the daemon uses: `stylize(content, options, { signal })` runs in a worker thread (its
 * own tfjs and wasm heap, so the caller's event loop and its models are untouched) and resolves with the image.
 *
 * Cancellation: aborting the signal terminates the worker. `Worker.terminate()` interrupts JavaScript and wasm
 * alike, so the promise rejects within milliseconds even in the middle of a multi-second Gatys iteration, and
 * the worker's whole wasm heap is returned to the OS with it.
 */
import type { RgbImage } from '../runtime/image.ts';
import { siblingEntry, startWorker } from '../util/entry.ts';
import { FacegateError } from '../util/errors.ts';
import type { StylizeOptions, StylizeProgress } from './engine.ts';
import type { WorkerInput, WorkerMessage } from './worker.ts';

export type JobEvent = StylizeProgress | { kind: 'priority'; applied: boolean; detail: string };

export interface JobControl {
  signal?: AbortSignal;
  onProgress?: (event: JobEvent) => void;
}

export interface JobOptions extends StylizeOptions {
  /** Nice value (0 normal .. 19 lowest) for the worker thread; see worker.ts for how and where it applies. */
  priority?: number;
}

export function abortError(): Error {
  return new DOMException('style transfer cancelled', 'AbortError');
}

export function stylize(content: RgbImage, options: JobOptions, control: JobControl = {}): Promise<RgbImage> {
  const { signal, onProgress } = control;
  if (signal?.aborted) return Promise.reject(abortError());
  if (
    options.priority !== undefined &&
    !(Number.isInteger(options.priority) && options.priority >= 0 && options.priority <= 19)
  ) {
    return Promise.reject(new FacegateError(`priority must be a whole number 0..19, got ${options.priority}`));
  }
  const { priority, ...engineOptions } = options;
  const input: WorkerInput = { content, options: engineOptions, priority };
  return new Promise<RgbImage>((resolve, reject) => {
    const worker = startWorker(siblingEntry(import.meta.url, 'worker'), { workerData: input });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = () => finish(() => reject(abortError()));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') onProgress?.(m.progress as StylizeProgress);
      else if (m.type === 'priority') onProgress?.({ kind: 'priority', applied: m.applied, detail: m.detail });
      else if (m.type === 'done') finish(() => resolve(m.image));
      else finish(() => reject(m.facegate ? new FacegateError(m.message, m.exitCode) : new Error(m.message)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`style transfer worker exited with code ${code}`))));
  });
}
