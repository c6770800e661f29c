/**
 * Prometheus metrics (prom-client), every name prefixed `facegate_`. Most values come from bus events, so the
 * modules that cause them need not know metrics exist; the few the bus does not carry (frames, outbox depth, the
 * worker's liveness) are pulled at scrape time from a source the metrics module registers (module.ts).
 * One Registry per Metrics object, not prom-client's global one, so tests and restarts never collide.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { EventBus, PortraitJobResult } from '../bus/event-bus.ts';
import type { EventLoopLag, MetricsView } from '../bus/module.ts';

export interface FrameCounts {
  captured: number;
  analysed: number;
  dropped: number;
}

export type NstJobResult = PortraitJobResult;

export interface Metrics extends MetricsView {
  readonly registry: Registry;
  frameCaptured(n?: number): void;
  frameAnalysed(n?: number): void;
  frameDropped(n?: number): void;
  /** Alternative to the three above: totals read at every scrape (e.g. the frame path's counters). */
  observeFrames(source: () => FrameCounts): void;
  /** MQTT outbox: events waiting for the broker. */
  setOutboxDepth(depth: number): void;
  /** Read the outbox depth at each scrape (the MQTT module's pending count). */
  observeOutboxDepth(source: () => number): void;
  nstJob(result: NstJobResult, method: string, seconds: number): void;
  /**
   * Counts bus events (decisions, relay pulses, camera reconnects, broker, alarms, portrait jobs, outbox depth)
   * until the returned off().
   */
  attachBus(bus: EventBus): () => void;
  /** Stops the event-loop sampler. */
  close(): void;
}

const LAG_WINDOW_MS = 10_000;
const LIVENESS_REASONS = new Set(['spoof-suspected', 'liveness-failed', 'anti-spoofing-unavailable']);

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'facegate_' });

  let frameSource: (() => FrameCounts) | null = null;
  const lastPulled: FrameCounts = { captured: 0, analysed: 0, dropped: 0 };
  // At scrape time, turn pulled totals into counter increments (a counter never goes down, even if a source resets).
  const pullFrames = (key: keyof FrameCounts, counter: Counter) => {
    if (!frameSource) return;
    const total = frameSource()[key];
    if (total > lastPulled[key]) counter.inc(total - lastPulled[key]);
    lastPulled[key] = total;
  };
  const framesCaptured: Counter = new Counter({
    name: 'facegate_frames_captured_total',
    help: 'Camera frames captured',
    registers: [registry],
    collect: () => pullFrames('captured', framesCaptured),
  });
  const framesAnalysed: Counter = new Counter({
    name: 'facegate_frames_analysed_total',
    help: 'Frames analysed by the inference worker',
    registers: [registry],
    collect: () => pullFrames('analysed', framesAnalysed),
  });
  const framesDropped: Counter = new Counter({
    name: 'facegate_frames_dropped_total',
    help: 'Frames dropped because the inference worker was busy (latest wins)',
    registers: [registry],
    collect: () => pullFrames('dropped', framesDropped),
  });
  const decisionLatency = new Histogram({
    name: 'facegate_decision_latency_seconds',
    help: 'Frame capture to access decision',
    buckets: [0.05, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.75, 1, 2, 5],
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'facegate_decisions_total',
    help: 'Access decisions by result and reason',
    labelNames: ['result', 'reason'] as const,
    registers: [registry],
  });
  const relayPulses = new Counter({
    name: 'facegate_relay_pulses_total',
    help: 'Door relay unlock pulses',
    registers: [registry],
  });
  const cameraReconnects = new Counter({
    name: 'facegate_camera_reconnects_total',
    help: 'Times the camera was lost and reopened',
    registers: [registry],
  });
  const cameraUp = new Gauge({ name: 'facegate_camera_up', help: '1 while the camera streams', registers: [registry] });
  const brokerUp = new Gauge({
    name: 'facegate_mqtt_connected',
    help: '1 while connected to the MQTT broker',
    registers: [registry],
  });
  let outboxSource: (() => number) | null = null;
  const outboxDepth = new Gauge({
    name: 'facegate_mqtt_outbox_depth',
    help: 'Events waiting in the MQTT outbox',
    registers: [registry],
    collect() {
      if (outboxSource) this.set(nonNegative(outboxSource()));
    },
  });
  const alarms = new Counter({
    name: 'facegate_alarms_total',
    help: 'Alarms raised, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  // Anti-spoofing (issue 12): the fused MiniFASNet P(real) of every sampled frame, and refusals by reason.
  const padScores = new Histogram({
    name: 'facegate_pad_score',
    help: 'Fused MiniFASNet P(real) of the frames sampled by claims (passive anti-spoofing)',
    buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
    registers: [registry],
  });
  const livenessRefusals = new Counter({
    name: 'facegate_liveness_refusals_total',
    help: 'Claims refused by anti-spoofing, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const nstJobs = new Counter({
    name: 'facegate_nst_jobs_total',
    help: 'Welcome-portrait style-transfer jobs by result',
    labelNames: ['result', 'method'] as const,
    registers: [registry],
  });
  const nstDuration = new Histogram({
    name: 'facegate_nst_job_duration_seconds',
    help: 'Style-transfer job duration (finished jobs)',
    labelNames: ['method'] as const,
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 7200],
    registers: [registry],
  });

  // Our own event-loop sampler: its window also feeds /healthz, which must not depend on a scrape happening.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let lastWindow: EventLoopLag = { p50Ms: 0, p99Ms: 0, maxMs: 0 };
  const toMs = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);
  const rollWindow = () => {
    if (loopDelay.count > 0) {
      lastWindow = {
        p50Ms: toMs(loopDelay.percentile(50)),
        p99Ms: toMs(loopDelay.percentile(99)),
        maxMs: toMs(loopDelay.max),
      };
    }
    loopDelay.reset();
  };
  const lagTimer = setInterval(rollWindow, LAG_WINDOW_MS);
  lagTimer.unref();
  const eventLoopLag = (): EventLoopLag => {
    // Before the first window closes, report what has been seen so far.
    if (loopDelay.count > 0 && lastWindow.maxMs === 0) {
      return {
        p50Ms: toMs(loopDelay.percentile(50)),
        p99Ms: toMs(loopDelay.percentile(99)),
        maxMs: toMs(loopDelay.max),
      };
    }
    return lastWindow;
  };
  new Gauge({
    name: 'facegate_event_loop_lag_seconds',
    help: 'Main-thread event-loop delay over the last ~10 s window',
    labelNames: ['stat'] as const,
    registers: [registry],
    collect() {
      const lag = eventLoopLag();
      this.set({ stat: 'p50' }, lag.p50Ms / 1000);
      this.set({ stat: 'p99' }, lag.p99Ms / 1000);
      this.set({ stat: 'max' }, lag.maxMs / 1000);
    },
  });

  const nonNegative = (n: number) => (Number.isFinite(n) && n > 0 ? n : 0);
  const nstJob = (result: NstJobResult, method: string, seconds: number) => {
    nstJobs.inc({ result, method });
    if (result === 'done') nstDuration.observe({ method }, nonNegative(seconds));
  };

  return {
    registry,
    contentType: registry.contentType,
    frameCaptured: (n = 1) => framesCaptured.inc(nonNegative(n)),
    frameAnalysed: (n = 1) => framesAnalysed.inc(nonNegative(n)),
    frameDropped: (n = 1) => framesDropped.inc(nonNegative(n)),
    observeFrames(source) {
      frameSource = source;
    },
    setOutboxDepth: (depth) => outboxDepth.set(nonNegative(depth)),
    observeOutboxDepth(source) {
      outboxSource = source;
    },
    nstJob,
    attachBus(bus) {
      let previousCamera: string | null = null;
      const offs = [
        bus.on('access', (event) => {
          decisions.inc({ result: event.decision, reason: event.reason });
          if (LIVENESS_REASONS.has(event.reason)) livenessRefusals.inc({ reason: event.reason });
          if (event.latencyMs !== null) decisionLatency.observe(event.latencyMs / 1000);
        }),
        bus.on('relay', ({ state }) => {
          if (state === 'unlocked') relayPulses.inc();
        }),
        bus.on('cameraState', ({ state }) => {
          // A reconnect is a return to streaming after the camera had been lost.
          if (
            state === 'streaming' &&
            previousCamera !== null &&
            previousCamera !== 'streaming' &&
            previousCamera !== 'starting'
          ) {
            cameraReconnects.inc();
          }
          previousCamera = state;
          cameraUp.set(state === 'streaming' ? 1 : 0);
        }),
        bus.on('brokerState', ({ connected }) => brokerUp.set(connected ? 1 : 0)),
        bus.on('alarm', ({ kind }) => alarms.inc({ kind })),
        bus.on('portraitJob', ({ result, method, seconds }) => nstJob(result, method, seconds)),
        bus.on('outboxDepth', ({ depth }) => outboxDepth.set(nonNegative(depth))),
        bus.on('padScore', ({ score }) => padScores.observe(Math.min(1, Math.max(0, score)))),
      ];
      return () => {
        for (const off of offs) off();
      };
    },
    eventLoopLag,
    render: () => registry.metrics(),
    close() {
      clearInterval(lagTimer);
      loopDelay.disable();
    },
  };
}
