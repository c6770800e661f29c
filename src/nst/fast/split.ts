/**
 * Fast style on two cores: the image is cut into a top and a bottom band (fast-band.ts); the top band runs on
 * this thread, the bottom one in a helper worker thread with its own wasm instance. At each of the 16 instance
 * norms both bands stop, send their statistics and edge rows here, and get back the whole image's statistics
 * and their neighbour's rows (one message each way per layer), so the result is the one-band image up to float
 * summation order (test/nst/fast/bands.test.ts, test/nst/fast/split.test.ts).
 *
 * One band when the second core is busy: the bands run in lockstep, so when another process keeps a core busy
 * both share the other and the split is slower than one thread (the Gatys split measured this; see cpu-share.ts).
 * With `parts: 'auto'` each image samples the other processes' CPU use since the previous one and keeps the same
 * hysteresis as split Gatys (one band above ~0.65 of a core, two again below ~0.35).
 *
 * The helper is started once per thread and kept (unref'd while idle, so it never holds the process open); a
 * daemon job runs in its own worker thread, and terminating that worker (preemption) ends the helper with it.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Tensor4D } from '@tensorflow/tfjs';
import { tf } from '../../runtime/tf.ts';
import { siblingEntry, startWorker } from '../../util/entry.ts';
import { FacegateError } from '../../util/errors.ts';
import { OtherLoad } from '../cpu-share.ts';
import { type Block, bandInput, exchange, fastBand, type NormIn, planBands } from './band.ts';
import type { HelperReply, HelperRequest } from './band-worker.ts';
import { bandRowsFor, type FastStyleNet, type LayerHook, runFastStyle } from './net.ts';
import type { FastStyleWeights } from './weights.ts';

/** 1 = this thread only; 2 = always two bands; 'auto' = two bands unless other processes keep a core busy. */
export type FastParts = 1 | 2 | 'auto';

class FastHelper {
  private readonly worker: Worker;
  private waiting: { resolve: (r: HelperReply) => void; reject: (e: Error) => void } | undefined;
  private queued: HelperReply[] = [];
  private failed: Error | undefined;
  /** Which style's weights the helper holds. */
  loadedKey: string | undefined;

  constructor(backend: string) {
    // Started from a job's worker thread, the helper inherits that thread's nice value (Linux copies it to new
    // threads) and is terminated with it.
    this.worker = startWorker(siblingEntry(import.meta.url, 'band-worker'));
    this.worker.unref();
    this.worker.on('message', (r: HelperReply) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (w) {
        if (r.type === 'error') w.reject(new FacegateError(`fast style helper: ${r.message}`));
        else w.resolve(r);
      } else this.queued.push(r);
    });
    const fail = (err: Error) => {
      this.failed = err;
      this.waiting?.reject(err);
      this.waiting = undefined;
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`fast style helper exited with code ${code}`)));
    this.send({ type: 'init', backend });
  }

  get broken(): boolean {
    return this.failed !== undefined;
  }

  send(m: HelperRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  /** The helper's next message (messages are strictly sequential: one band, one step at a time). */
  next(): Promise<HelperReply> {
    const q = this.queued.shift();
    if (q)
      return q.type === 'error'
        ? Promise.reject(new FacegateError(`fast style helper: ${q.message}`))
        : Promise.resolve(q);
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  async expect<T extends HelperReply['type']>(type: T): Promise<Extract<HelperReply, { type: T }>> {
    const r = await this.next();
    if (r.type !== type) throw new Error(`fast style helper: expected ${type}, got ${r.type}`);
    return r as Extract<HelperReply, { type: T }>;
  }

  /** Keeps the process alive only while a band is running. */
  busy(on: boolean): void {
    if (on) this.worker.ref();
    else this.worker.unref();
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

let helper: FastHelper | undefined;
/** Whether the init 'ready' reply is still to be read. */
let initPending = false;

/**
 * Starts the helper thread now (it loads tfjs and wasm while the caller loads weights and decodes the image).
 * No-op on one core or when already running.
 */
export function warmFastHelper(backend: string): void {
  if (availableParallelism() < 2) return;
  if (helper && !helper.broken) return;
  helper = new FastHelper(backend);
  initPending = true;
}

/** Ends the helper thread (style change, tests, shutdown). */
export async function stopFastHelper(): Promise<void> {
  const h = helper;
  helper = undefined;
  await h?.terminate();
}

const others = new OtherLoad();
let othersEma: number | undefined;
let splitting = true;

/** Decides one or two bands for the next image (see the file comment). */
function wantTwo(parts: FastParts): boolean {
  if (parts !== 'auto') return parts === 2;
  const o = others.sample();
  if (o !== undefined) {
    othersEma = othersEma === undefined ? o : 0.5 * othersEma + 0.5 * o;
    if (splitting && othersEma > 0.65) splitting = false;
    else if (!splitting && othersEma < 0.35) splitting = true;
  }
  return splitting;
}

/**
 * The helper, started and holding this style's weights; undefined when it cannot start (then the image runs on
 * one band: a missing second core must not fail a portrait).
 */
async function readyHelper(r: FastSplitRun): Promise<FastHelper | undefined> {
  warmFastHelper(r.backend);
  const h = helper;
  if (!h) return undefined;
  h.busy(true);
  try {
    if (initPending) {
      initPending = false;
      await h.expect('ready');
    }
    if (h.loadedKey !== r.key) {
      h.loadedKey = undefined;
      h.send({ type: 'weights', key: r.key, weights: r.weights });
      await h.expect('ready');
      h.loadedKey = r.key;
    }
    return h;
  } catch {
    if (helper === h) helper = undefined;
    void h.terminate();
    return undefined;
  } finally {
    h.busy(false);
  }
}

export interface FastSplitRun {
  net: FastStyleNet;
  /** The same weights as raw arrays (sent to the helper once per style) and a key naming them. */
  weights: FastStyleWeights;
  key: string;
  parts: FastParts;
  backend: string;
}

/**
 * Runs the whole padded image `[1, H, W, 3]` (not consumed) on one or two bands; returns `[1, H, W, 3]` 0..255
 * and how many bands it used.
 */
export async function runFastSplit(
  r: FastSplitRun,
  input: Tensor4D,
  onLayer?: LayerHook,
): Promise<{ output: Tensor4D; bands: number }> {
  const [, height, width] = input.shape;
  const geometry = planBands(height, width, 2);
  const two = geometry.length === 2 && wantTwo(r.parts);
  const h = two ? await readyHelper(r) : undefined;
  if (!h) return { output: runFastStyle(r.net, input, onLayer), bands: 1 };
  const [top, bottom] = geometry as [(typeof geometry)[0], (typeof geometry)[0]];
  const chunkRows = bandRowsFor(width);
  h.busy(true);
  let local: ReturnType<typeof fastBand> | undefined;
  const localInput = bandInput(input, top);
  try {
    const remoteInput = bandInput(input, bottom);
    const block: Block = { data: remoteInput.dataSync() as Float32Array, shape: remoteInput.shape };
    remoteInput.dispose();
    h.send({ type: 'run', geometry: bottom, input: block, chunkRows }, [block.data.buffer as ArrayBuffer]);
    local = fastBand(r.net, top, localInput, chunkRows, onLayer);
    let mine = local.next();
    let theirs = await h.next();
    while (!mine.done && theirs.type === 'norm') {
      const [forMe, forThem] = exchange([mine.value, theirs.out]) as [NormIn, NormIn];
      // The helper's reply goes out first so it computes while this thread does.
      const transfer = [forThem.fromAbove, forThem.fromBelow].flatMap((b) => (b ? [b.data.buffer as ArrayBuffer] : []));
      h.send({ type: 'norm', reply: forThem }, transfer);
      mine = local.next(forMe);
      theirs = await h.next();
    }
    if (!mine.done || theirs.type !== 'done') throw new Error('fast style bands out of step');
    const rest = tf.tensor4d(theirs.output.data, theirs.output.shape);
    const output = tf.concat([mine.value, rest], 1) as Tensor4D;
    tf.dispose([mine.value, rest]);
    return { output, bands: 2 };
  } catch (err) {
    // The helper may be mid-band: end it; the next image starts a fresh one.
    local?.return(undefined as unknown as Tensor4D);
    if (helper === h) helper = undefined;
    void h.terminate();
    throw err;
  } finally {
    localInput.dispose();
    h.busy(false);
  }
}
