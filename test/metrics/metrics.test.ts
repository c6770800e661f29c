/** /metrics (Prometheus text, facegate_ names) and /healthz (200 healthy, 503 with a dead inference worker). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DisplayModule } from '../../src/display/module.ts';
import { createFixture, type Fixture } from '../helpers/display-fixture.ts';

let fx: Fixture;
let display: DisplayModule;

before(async () => {
  fx = await createFixture();
  display = await fx.startDisplay();
});

after(async () => {
  await fx?.close();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${fx.url}metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

/** The value of one sample line, e.g. `facegate_relay_pulses_total` or `facegate_decisions_total{result="granted",...}`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

test('/metrics lists the facegate_ metrics, and counters move with bus events', async () => {
  const before = await scrape();
  for (const name of [
    'facegate_frames_captured_total',
    'facegate_frames_analysed_total',
    'facegate_frames_dropped_total',
    'facegate_decision_latency_seconds',
    'facegate_decisions_total',
    'facegate_relay_pulses_total',
    'facegate_camera_reconnects_total',
    'facegate_mqtt_outbox_depth',
    'facegate_nst_jobs_total',
    'facegate_nst_job_duration_seconds',
    'facegate_event_loop_lag_seconds',
    'facegate_process_cpu_seconds_total',
    'facegate_process_resident_memory_bytes',
  ]) {
    assert.match(before, new RegExp(`^# TYPE ${name} `, 'm'), `${name} missing`);
  }
  assert.equal(sample(before, 'facegate_relay_pulses_total'), 0);

  fx.bus.emit('access', {
    eventId: 'e1',
    time: new Date().toISOString(),
    mode: 'badge+face',
    badge: '****1234',
    identityId: 'ada',
    identityName: 'Ada',
    decision: 'granted',
    reason: 'match',
    distance: 0.41,
    threshold: 0.6,
    latencyMs: 130,
  });
  fx.bus.emit('relay', { state: 'unlocked', time: new Date().toISOString() });
  fx.bus.emit('relay', { state: 'locked', time: new Date().toISOString() });
  fx.bus.emit('cameraState', { state: 'streaming' });
  fx.bus.emit('cameraState', { state: 'reconnecting', detail: 'ffmpeg exited' });
  fx.bus.emit('cameraState', { state: 'streaming' });
  fx.metrics.frameCaptured(3);
  fx.metrics.frameAnalysed(2);
  fx.metrics.frameDropped();
  fx.metrics.setOutboxDepth(7);
  fx.metrics.nstJob('done', 'fast', 1.5);

  const text = await scrape();
  assert.equal(sample(text, 'facegate_decisions_total{result="granted",reason="match"}'), 1);
  assert.equal(sample(text, 'facegate_decision_latency_seconds_count'), 1);
  assert.equal(sample(text, 'facegate_decision_latency_seconds_bucket{le="0.15"}'), 1);
  assert.equal(sample(text, 'facegate_decision_latency_seconds_bucket{le="0.1"}'), 0);
  assert.equal(sample(text, 'facegate_relay_pulses_total'), 1);
  assert.equal(sample(text, 'facegate_camera_reconnects_total'), 1);
  assert.equal(sample(text, 'facegate_frames_captured_total'), 3);
  assert.equal(sample(text, 'facegate_frames_analysed_total'), 2);
  assert.equal(sample(text, 'facegate_frames_dropped_total'), 1);
  assert.equal(sample(text, 'facegate_mqtt_outbox_depth'), 7);
  assert.equal(sample(text, 'facegate_nst_jobs_total{result="done",method="fast"}'), 1);
  assert.ok(sample(text, 'facegate_event_loop_lag_seconds{stat="max"}') >= 0);
  // No identity or badge ever becomes a label.
  assert.doesNotMatch(text, /Ada|1234/);
});

test('frame totals pulled from a source at scrape time become counter increments', async () => {
  const first = sample(await scrape(), 'facegate_frames_captured_total');
  let captured = 10;
  fx.metrics.observeFrames(() => ({ captured, analysed: 0, dropped: 0 }));
  assert.equal(sample(await scrape(), 'facegate_frames_captured_total'), first + 10);
  captured = 25;
  assert.equal(sample(await scrape(), 'facegate_frames_captured_total'), first + 25);
});

test('/healthz: 200 with event loop, worker, camera and broker; 503 once the worker is dead', async () => {
  fx.bus.emit('brokerState', { connected: true });
  fx.analyser.ready = true;
  let res = await fetch(`${fx.url}healthz`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.status, 'ok');
  assert.equal(body.worker, 'alive');
  assert.equal(body.camera, 'streaming');
  assert.equal(body.broker, 'connected');
  assert.equal(typeof (body.eventLoopLagMs as { p99: number }).p99, 'number');

  fx.analyser.ready = false;
  res = await fetch(`${fx.url}healthz`);
  assert.equal(res.status, 503);
  assert.equal(((await res.json()) as { worker: string }).worker, 'dead');
  fx.analyser.ready = true;
});

test('a port already in use: one clear log line, no crash, the module reports no port', async (t) => {
  const { createDisplayModule } = await import('../../src/display/module.ts');
  const lines: string[] = [];
  const logger = (await import('pino')).pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const second = createDisplayModule({ ...fx.ctx, logger }, fx.http, { metrics: fx.metrics });
  t.after(() => second.stop());
  await second.start();
  assert.equal(second.port, null);
  assert.equal(display.port !== null, true);
  assert.ok(
    lines.some((l) => /port is in use/.test(l)),
    lines.join(''),
  );
  await second.stop();
});

test('unknown paths are 404 and portrait ids are checked', async () => {
  assert.equal((await fetch(`${fx.url}nope`)).status, 404);
  assert.equal((await fetch(`${fx.url}portraits/..%2F..%2Ffaces.json`)).status, 404);
  assert.equal((await fetch(`${fx.url}portraits/doesnotexist.jpg`)).status, 404);
  assert.equal((await fetch(`${fx.url}preview.jpg`)).status, 404);
});
