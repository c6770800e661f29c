/**
 * The metrics module only listens: bus events (including the portrait-job and outbox-depth events that used to be
 * pushed by the display and the MQTT wiring) move the metrics while it runs and no longer once it stopped; the
 * frame totals are read from the frame path at scrape time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventBus } from '../../src/bus/event-bus.ts';
import { createMetricsModule } from '../../src/metrics/module.ts';

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

test('bus events and frame totals reach /metrics until the module stops', async (t) => {
  const bus = new EventBus();
  const frames = { capturedFrames: 0, analysedFrames: 0, droppedFrames: 0 };
  const metrics = createMetricsModule(bus, frames);
  t.after(() => metrics.stop());
  await metrics.start();
  bus.emit('outboxDepth', { depth: 12 });
  bus.emit('portraitJob', { result: 'done', method: 'fast', seconds: 2 });
  bus.emit('portraitJob', { result: 'cancelled', method: 'gatys', seconds: 0 });
  bus.emit('relay', { state: 'unlocked', time: new Date().toISOString() });
  frames.capturedFrames = 30;
  frames.analysedFrames = 25;
  frames.droppedFrames = 5;
  let text = await metrics.render();
  assert.equal(sample(text, 'facegate_mqtt_outbox_depth'), 12);
  assert.equal(sample(text, 'facegate_nst_jobs_total{result="done",method="fast"}'), 1);
  assert.equal(sample(text, 'facegate_nst_jobs_total{result="cancelled",method="gatys"}'), 1);
  assert.equal(sample(text, 'facegate_nst_job_duration_seconds_count{method="fast"}'), 1);
  assert.equal(sample(text, 'facegate_relay_pulses_total'), 1);
  assert.equal(sample(text, 'facegate_frames_captured_total'), 30);
  assert.equal(sample(text, 'facegate_frames_analysed_total'), 25);
  assert.equal(sample(text, 'facegate_frames_dropped_total'), 5);
  assert.equal(typeof metrics.eventLoopLag().p99Ms, 'number');

  await metrics.stop();
  bus.emit('relay', { state: 'unlocked', time: new Date().toISOString() });
  bus.emit('outboxDepth', { depth: 3 });
  text = await metrics.render();
  assert.equal(sample(text, 'facegate_relay_pulses_total'), 1, 'a stopped module listens no more');
  assert.equal(sample(text, 'facegate_mqtt_outbox_depth'), 12);
  assert.equal(bus.listenerCount('outboxDepth'), 0);
});
