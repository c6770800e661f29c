/**
 * The coordinator's handle on a band running in a helper worker thread (vgg-band-worker.ts). Requests are
 * strictly sequential per worker, so one pending promise at a time is enough.
 */
import type { Worker } from 'node:worker_threads';
import type { Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../../../runtime/tf.ts';
import { siblingEntry, startWorker } from '../../../util/entry.ts';
import { FacegateError } from '../../../util/errors.ts';
import type { VggConv } from '../vgg.ts';
import type { BandReply, BandRequest, Block } from './band-worker.ts';
import type { BandSpec } from './vgg-half.ts';

function block(t: Tensor4D): Block {
  // dataSync returns a fresh copy for wasm tensors, so its buffer can be transferred.
  return { data: t.dataSync() as Float32Array, shape: t.shape };
}

export class WorkerBand {
  private readonly worker: Worker;
  private pending: { resolve: (r: BandReply) => void; reject: (e: Error) => void } | undefined;
  private failed: Error | undefined;
  private readonly ready: Promise<BandReply>;

  constructor(convs: readonly VggConv[], backend: string) {
    // Started from the job's worker thread, the helper inherits its nice value (Linux copies it to new threads;
    // checked) and is terminated with it when a job is cancelled.
    this.worker = startWorker(siblingEntry(import.meta.url, 'band-worker'));
    this.worker.on('message', (r: BandReply) => {
      const p = this.pending;
      this.pending = undefined;
      if (r.type === 'error') p?.reject(new FacegateError(`split Gatys helper: ${r.message}`));
      else p?.resolve(r);
    });
    const fail = (err: Error) => {
      this.failed = err;
      this.pending?.reject(err);
      this.pending = undefined;
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`split Gatys helper exited with code ${code}`)));
    this.ready = this.request({ type: 'init', convs: [...convs], backend });
    // Awaited by every call; this only keeps a failed start from being reported as an unhandled rejection.
    this.ready.catch(() => {});
  }

  private request(m: BandRequest, transfer: ArrayBuffer[] = []): Promise<BandReply> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending) return Promise.reject(new Error('split Gatys helper: overlapping requests'));
    return new Promise<BandReply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(m, transfer);
    });
  }

  private async call<T extends BandReply['type']>(
    m: BandRequest,
    want: T,
    transfer: ArrayBuffer[] = [],
  ): Promise<Extract<BandReply, { type: T }>> {
    await this.ready;
    const r = await this.request(m, transfer);
    if (r.type !== want) throw new Error(`split Gatys helper: expected ${want}, got ${r.type}`);
    return r as Extract<BandReply, { type: T }>;
  }

  /** Milliseconds the helper spent computing (not messaging) in the last phase 1 + phase 2. */
  busyMs = 0;

  async targets(
    spec: BandSpec,
    content: Tensor4D,
    style: Tensor4D,
  ): Promise<{ contentKept: Tensor4D; grams: Float32Array[] }> {
    const [c, s] = [block(content), block(style)];
    const r = await this.call({ type: 'targets', spec, content: c, style: s }, 'grams', [
      c.data.buffer as ArrayBuffer,
      s.data.buffer as ArrayBuffer,
    ]);
    return { contentKept: tf.tensor4d(r.contentKept.data, r.contentKept.shape), grams: r.grams };
  }

  async phase1(
    spec: BandSpec,
    generated: Tensor4D,
    contentTarget: Tensor4D,
  ): Promise<{ contentSum: number; grams: Float32Array[] }> {
    const g = block(generated);
    const c = block(contentTarget);
    contentTarget.dispose();
    const r = await this.call({ type: 'phase1', spec, generated: g, contentTarget: c }, 'phase1', [
      g.data.buffer as ArrayBuffer,
      c.data.buffer as ArrayBuffer,
    ]);
    this.busyMs = r.ms;
    return { contentSum: r.contentSum, grams: r.grams };
  }

  async phase2(dGram: Float32Array[], alpha: number): Promise<Tensor4D> {
    // dGram is shared with the local band, so it is copied (structured clone), not transferred.
    const r = await this.call({ type: 'phase2', dGram, alpha }, 'grad');
    this.busyMs += r.ms;
    return tf.tensor4d(r.gradient.data, r.gradient.shape);
  }

  async dispose(): Promise<void> {
    await this.worker.terminate();
  }
}
