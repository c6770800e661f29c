/**
 * Idle-time welcome portraits. The door flow hands over the face crop of a granted visitor who consented
 * (`portraitCandidate`); once nobody has been in front of the camera for `idleSeconds`, the next candidate is
 * stylized (fast styles in rotation, or Gatys), composed into a welcome card and added to the slideshow cache.
 *
 * Preemption: a face appearing or a badge read aborts the running job at once (the NST job API terminates its
 * worker), so recognition gets the CPU back; the candidate stays queued and is tried again at the next idle spell.
 * Consent is checked when a candidate arrives, when its job starts and when it finishes: a deletion or withdrawn
 * consent in between discards the result and the identity's cached cards.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { EventBus, PortraitJobResult } from '../bus/event-bus.ts';
import type { PortraitsConfig } from '../config/sections/http.ts';
import type { RgbImage } from '../runtime/image.ts';
import type { FaceDb } from '../store/face-db.ts';
import { errorMessage } from '../util/errors.ts';
import { composeWelcomeCard } from './card.ts';
import type { PortraitCache } from './portrait-cache.ts';
import { type PortraitRenderer, type RenderRequest, styleLabel } from './renderer.ts';
import type { PortraitProgress } from './view.ts';

interface Candidate {
  identityId: string;
  name: string;
  faceCrop: RgbImage;
}

interface RunningJob {
  identityId: string;
  controller: AbortController;
  /** performance.now() of the event that preempted this job, if one did. */
  preemptedAt: number | null;
  settled: Promise<void>;
}

export interface JobOutcome {
  identityId: string;
  result: PortraitJobResult | 'discarded';
  style: string;
  /** Preempted jobs: from the face/badge event to the job having settled, in milliseconds. */
  preemptionMs: number | null;
}

export interface PortraitServiceOptions {
  bus: EventBus;
  db: FaceDb;
  logger: Logger;
  cache: PortraitCache;
  renderer: PortraitRenderer;
  config: PortraitsConfig;
  /** Fast styles to rotate through (already defaulted), or ignored for Gatys. */
  styles: string[];
  /** Whether a fast style's weights are installed; the rotation skips the others. Default: all are. */
  styleInstalled?: (style: string) => boolean;
  onPortraitsChanged: () => void;
  onProgress: (progress: PortraitProgress | null) => void;
  onJob?: (outcome: JobOutcome) => void;
  nstJob?: (result: PortraitJobResult, method: string, seconds: number) => void;
  now?: () => number;
}

/** Visitors waiting for a portrait; one per identity (the latest crop), the oldest bounded out. */
const MAX_QUEUED = 10;

export class PortraitService {
  private readonly queue = new Map<string, Candidate>();
  private job: RunningJob | null = null;
  private facePresent = false;
  private lastActivity: number;
  private styleIndex = 0;
  private timer: NodeJS.Timeout | null = null;
  private offs: Array<() => void> = [];
  private readonly now: () => number;
  private stopped = false;
  /** "Nothing to render with" is said once, not on every idle tick while visitors wait. */
  private unrenderableWarned = false;

  constructor(private readonly opts: PortraitServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.lastActivity = this.now();
  }

  get queued(): number {
    return this.queue.size;
  }

  get running(): boolean {
    return this.job !== null;
  }

  async start(): Promise<void> {
    const { bus } = this.opts;
    this.lastActivity = this.now();
    this.offs = [
      bus.on('facePresence', ({ present }) => {
        this.facePresent = present;
        this.activity(present);
      }),
      bus.on('badgeRead', () => this.activity(true)),
      bus.on('flowState', ({ state }) => {
        if (state !== 'IDLE') this.activity(true);
      }),
      bus.on('portraitCandidate', (c) => this.offer(c)),
      bus.on('identitiesChanged', ({ id, change }) => {
        if (change === 'deleted' || !this.consented(id)) void this.forget(id, change);
      }),
    ];
    // Cards of identities deleted (or who withdrew consent) while the daemon was down.
    const removed = await this.opts.cache.removeWhere((e) => !this.consented(e.identityId));
    if (removed > 0)
      this.opts.logger.info({ event: 'portraits-removed', count: removed }, 'removed portraits without consent');
    if (this.opts.config.method === 'fast' && this.installedStyles().length === 0) this.warnUnrenderable();
    const tickMs = Math.min(1000, Math.max(50, (this.opts.config.idleSeconds * 1000) / 4));
    this.timer = setInterval(() => this.maybeStart(), tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.offs) off();
    this.offs = [];
    if (this.timer) clearInterval(this.timer);
    const job = this.job;
    job?.controller.abort();
    await job?.settled;
    this.queue.clear();
  }

  /** The idle check, also callable directly (tests). */
  maybeStart(): void {
    if (this.stopped || this.job || this.facePresent || this.queue.size === 0) return;
    if (this.now() - this.lastActivity < this.opts.config.idleSeconds * 1000) return;
    const next = this.queue.values().next().value;
    if (!next) return;
    if (!this.consented(next.identityId)) {
      this.queue.delete(next.identityId);
      return;
    }
    this.runJob(next);
  }

  private consented(identityId: string): boolean {
    return this.opts.db.get(identityId)?.portraitConsent === true;
  }

  private offer(c: { identityId: string; name: string; faceCrop: RgbImage }): void {
    if (!this.opts.config.enabled) return;
    if (!this.consented(c.identityId)) {
      // The door flow should not have sent it; the crop is dropped here and never stored.
      this.opts.logger.debug({ event: 'portrait-skipped', identityId: c.identityId }, 'no portrait consent');
      return;
    }
    if (c.faceCrop.width < 16 || c.faceCrop.height < 16) return;
    this.queue.delete(c.identityId);
    this.queue.set(c.identityId, { identityId: c.identityId, name: c.name, faceCrop: c.faceCrop });
    while (this.queue.size > MAX_QUEUED) {
      const oldest = this.queue.keys().next().value;
      if (oldest === undefined) break;
      this.queue.delete(oldest);
    }
  }

  /** A face or a badge: not idle any more; a running job yields the CPU at once. */
  private activity(preempt: boolean): void {
    this.lastActivity = this.now();
    if (!preempt || !this.job || this.job.controller.signal.aborted) return;
    this.job.preemptedAt = performance.now();
    this.job.controller.abort();
  }

  private async forget(identityId: string, change: string): Promise<void> {
    this.queue.delete(identityId);
    if (this.job?.identityId === identityId) this.job.controller.abort();
    const removed = await this.opts.cache.removeIdentity(identityId);
    this.opts.logger.info(
      { event: 'portraits-removed', identityId, change, count: removed },
      `removed ${removed} portrait(s) of ${identityId} (${change === 'deleted' ? 'identity deleted' : 'no consent'})`,
    );
    if (removed > 0) this.opts.onPortraitsChanged();
  }

  private installedStyles(): string[] {
    const installed = this.opts.styleInstalled;
    return installed ? this.opts.styles.filter((s) => installed(s)) : this.opts.styles;
  }

  private warnUnrenderable(): void {
    if (this.unrenderableWarned) return;
    this.unrenderableWarned = true;
    const { config, styles } = this.opts;
    const why =
      config.method === 'gatys'
        ? 'portraits.gatysStyleImage is not set'
        : styles.length === 0
          ? 'portraits.styles is empty'
          : `none of the configured styles is installed (${styles.join(', ')}); get one with ` +
            `"facegate models fetch fast-style ${styles[0]}"`;
    // Styles the admin named are a warning; the built-in list on a fresh clone without weights is just said.
    const level = config.method === 'fast' && config.styles.length === 0 ? 'info' : 'warn';
    this.opts.logger[level](
      { event: 'portrait-config', styles: config.method === 'fast' ? styles : undefined },
      `portraits: nothing to render with: ${why}; visitors wait for a portrait until then`,
    );
  }

  private nextRequest(): RenderRequest | null {
    const { config } = this.opts;
    if (config.method === 'gatys') {
      if (!config.gatysStyleImage) return null;
      return {
        method: 'gatys',
        style: config.gatysStyleImage,
        size: { ...config.gatysSize },
        iterations: config.gatysIterations,
        gatys: { alpha: config.gatysAlpha, beta: config.gatysBeta, learningRate: config.gatysLearningRate },
      };
    }
    // Checked on every job (a stat per style, jobs are minutes apart): a style fetched later joins the rotation.
    const styles = this.installedStyles();
    const style = styles[this.styleIndex % Math.max(1, styles.length)];
    if (!style) return null;
    this.styleIndex += 1;
    const size = { width: config.renderSize, height: config.renderSize };
    return { method: 'fast', style, size, iterations: 0 };
  }

  private runJob(candidate: Candidate): void {
    const request = this.nextRequest();
    if (!request) {
      // Visitors stay queued (bounded): installing a style later still gives them their portrait.
      this.warnUnrenderable();
      return;
    }
    const controller = new AbortController();
    const job: RunningJob = {
      identityId: candidate.identityId,
      controller,
      preemptedAt: null,
      settled: Promise.resolve(),
    };
    this.job = job;
    job.settled = this.execute(job, candidate, request);
  }

  private async execute(job: RunningJob, candidate: Candidate, request: RenderRequest): Promise<void> {
    const { logger, renderer, cache, bus } = this.opts;
    const style = styleLabel(request);
    const started = performance.now();
    const outcome: JobOutcome = { identityId: candidate.identityId, result: 'failed', style, preemptionMs: null };
    this.opts.onProgress({ style, percent: request.method === 'gatys' ? 0 : null });
    try {
      const stylized = await renderer.render(candidate.faceCrop, request, {
        signal: job.controller.signal,
        onProgress: (fraction) => {
          if (request.method === 'gatys' && !job.controller.signal.aborted) {
            this.opts.onProgress({ style, percent: Math.round(fraction * 100) });
          }
        },
      });
      if (job.controller.signal.aborted) throw new DOMException('preempted', 'AbortError');
      const seconds = (performance.now() - started) / 1000;
      if (!this.consented(candidate.identityId)) {
        outcome.result = 'discarded';
        return;
      }
      const jpeg = await composeWelcomeCard(stylized, { name: candidate.name, date: new Date(this.now()), style });
      const entry = await cache.add({ identityId: candidate.identityId, name: candidate.name, style }, jpeg);
      this.queue.delete(candidate.identityId);
      outcome.result = 'done';
      this.opts.nstJob?.('done', request.method, seconds);
      logger.info(
        { event: 'portrait', id: entry.id, identityId: entry.identityId, style, seconds: Number(seconds.toFixed(2)) },
        `welcome portrait rendered (${style}, ${seconds.toFixed(1)} s)`,
      );
      bus.emit('portrait', {
        id: entry.id,
        identityId: entry.identityId,
        name: entry.name,
        style,
        time: entry.createdAt,
      });
      this.opts.onPortraitsChanged();
    } catch (err) {
      if (job.controller.signal.aborted) {
        outcome.result = 'cancelled';
        // The visitor gets the style this attempt was going to use.
        if (request.method === 'fast') this.styleIndex -= 1;
        if (job.preemptedAt !== null) outcome.preemptionMs = performance.now() - job.preemptedAt;
        this.opts.nstJob?.('cancelled', request.method, 0);
        logger.debug({ event: 'portrait-preempted', preemptionMs: outcome.preemptionMs }, 'portrait job preempted');
      } else {
        // A broken job (missing weights, bad style) must not be retried in a loop: the candidate is dropped.
        this.queue.delete(candidate.identityId);
        this.opts.nstJob?.('failed', request.method, 0);
        logger.warn(
          { event: 'portrait-failed', style, error: errorMessage(err) },
          `portrait job failed: ${errorMessage(err)}`,
        );
      }
    } finally {
      this.job = null;
      this.opts.onProgress(null);
      this.opts.onJob?.(outcome);
    }
  }
}
