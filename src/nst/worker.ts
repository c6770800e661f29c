/**
 * Runs one stylize job inside a worker thread with its own tfjs instance, posting progress and the result back.
 * Cancellation is done by the parent terminating this thread, which stops even a long wasm op at once.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { RgbImage } from '../runtime/image.ts';
import { errorMessage, FacegateError } from '../util/errors.ts';
import { runStylize, type StylizeOptions } from './engine.ts';

export interface WorkerInput {
  content: RgbImage;
  options: StylizeOptions;
  /** Nice value 0..19 for this thread only. */
  priority?: number;
}

export type WorkerMessage =
  | { type: 'progress'; progress: unknown }
  | { type: 'priority'; applied: boolean; detail: string }
  | { type: 'done'; image: RgbImage }
  | { type: 'error'; message: string; exitCode: number; facegate: boolean };

/**
 * Lowers the OS priority of this thread only. Linux keeps a nice value per thread and setpriority() accepts a
 * thread id; Node does not expose the tid, but /proc/thread-self points at /proc/<pid>/task/<tid>. Elsewhere
 * (or without /proc) the priority is left alone and the caller is told.
 */
function lowerThreadPriority(nice: number): { applied: boolean; detail: string } {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) throw new Error('no thread id');
    setPriority(tid, nice);
    return { applied: true, detail: `thread ${tid} nice ${nice}` };
  } catch (err) {
    return { applied: false, detail: `cannot lower thread priority here (${errorMessage(err)})` };
  }
}

const port = parentPort;
if (port) {
  const input = workerData as WorkerInput;
  const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  if (input.priority !== undefined) post({ type: 'priority', ...lowerThreadPriority(input.priority) });
  runStylize(input.content, input.options, { onProgress: (progress) => post({ type: 'progress', progress }) })
    .then((image) => post({ type: 'done', image }, [image.data.buffer as ArrayBuffer]))
    .catch((err: unknown) =>
      post({
        type: 'error',
        message: errorMessage(err),
        exitCode: err instanceof FacegateError ? err.exitCode : 2,
        facegate: err instanceof FacegateError,
      }),
    );
}
