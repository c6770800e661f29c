/**
 * The metrics feature module: it only listens. Bus events become counters (metrics.ts `attachBus`); the frame
 * totals, which change at camera rate and so never travel on the bus, are read from the frame path at scrape time.
 * The display serves what it renders (`MetricsView`: /metrics, and the event-loop lag for /healthz).
 */
import type { EventBus } from '../bus/event-bus.ts';
import type { DaemonModule, FrameCounters, MetricsView } from '../bus/module.ts';
import { createMetrics } from './metrics.ts';

export interface MetricsModule extends DaemonModule, MetricsView {}

export function createMetricsModule(bus: EventBus, frames: FrameCounters): MetricsModule {
  const metrics = createMetrics();
  metrics.observeFrames(() => ({
    captured: frames.capturedFrames,
    analysed: frames.analysedFrames,
    dropped: frames.droppedFrames,
  }));
  let off: (() => void) | null = null;
  return {
    name: 'metrics',
    contentType: metrics.contentType,
    render: () => metrics.render(),
    eventLoopLag: () => metrics.eventLoopLag(),
    async start() {
      off ??= metrics.attachBus(bus);
    },
    async stop() {
      off?.();
      off = null;
      metrics.close();
    },
  };
}
