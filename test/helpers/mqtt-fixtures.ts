/**
 * A fake daemon around the MQTT module, so its tests do not wait for the real daemon: a real FaceDb in a temp
 * dir, a real EventBus, and a FaceAnalyser whose "encoding" of an image is a pure function of its colour.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import pino from 'pino';
import sharp from 'sharp';
import { EventBus } from '../../src/bus/event-bus.ts';
import type { DaemonContext, FaceAnalyser, FrameAnalysis, MetricsView } from '../../src/bus/module.ts';
import { type MqttConfig, type MqttConfigInput, mqttConfigSchema } from '../../src/config/sections/mqtt.ts';
import type { Frame } from '../../src/hardware/camera/frame.ts';
import { FramePipeline } from '../../src/inference/frame-pipeline.ts';
import { createMqttModule, type MqttModule, type MqttModuleOptions } from '../../src/mqtt/module.ts';
import type { EnrollSampleResult } from '../../src/recognition/enrollment.ts';
import { decodeImage, type RgbImage } from '../../src/runtime/image.ts';
import { FaceDb } from '../../src/store/face-db.ts';

export const TEST_SECRET = 'test-site-secret-0123456789';
export const FAKE_ENCODER = 'fake-128';

/** The fake encoder: a 128-d unit vector derived from an RGB colour (dark = no face). */
export function vectorForColour(r: number, g: number, b: number): number[] {
  const digest = createHash('sha512').update(`${r},${g},${b}`).digest();
  const raw = Array.from({ length: 128 }, (_, i) => (digest[i % 64]! - 128) / 128 + (i >= 64 ? 0.01 : 0));
  const norm = Math.hypot(...raw);
  return raw.map((v) => v / norm);
}

function sample(image: RgbImage, source: string): EnrollSampleResult {
  const [r = 0, g = 0, b = 0] = image.data;
  if (r + g + b < 30) return { accepted: false, reason: 'no-face', encoding: null };
  return {
    accepted: true,
    reason: null,
    encoding: {
      vector: vectorForColour(r, g, b),
      encoder: FAKE_ENCODER,
      createdAt: new Date().toISOString(),
      quality: { score: 0.9, faceSize: image.width },
      source,
    },
  };
}

export class FakeAnalyser implements FaceAnalyser {
  readonly encoderId = FAKE_ENCODER;
  readonly threshold = 0.6;
  readonly backend = 'fake';
  readonly ready = true;
  readonly droppedFrames = 0;
  readonly analysedFrames = 0;
  imagesSeen = 0;
  framesSeen = 0;

  async analyseFrame(frame: Frame): Promise<FrameAnalysis | null> {
    return { seq: frame.seq, capturedAt: frame.capturedAt, faces: [], analysedAt: Date.now() };
  }

  async enrollImages(images: Uint8Array[], source: string): Promise<EnrollSampleResult[]> {
    const out: EnrollSampleResult[] = [];
    for (const bytes of images) {
      this.imagesSeen += 1;
      try {
        out.push(sample(await decodeImage(bytes), source));
      } catch (err) {
        out.push({ accepted: false, reason: `not-an-image: ${(err as Error).message}`, encoding: null });
      }
    }
    return out;
  }

  async enrollFrames(frames: Frame[], source: string): Promise<EnrollSampleResult[]> {
    this.framesSeen += frames.length;
    return frames.map((f) => sample(f.image, source));
  }

  async close(): Promise<void> {}
}

export function solidImage(r: number, g: number, b: number, size = 64): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = r;
    data[i + 1] = g;
    data[i + 2] = b;
  }
  return { data, width: size, height: size };
}

export async function solidPngBase64(r: number, g: number, b: number, size = 64): Promise<string> {
  const png = await sharp({ create: { width: size, height: size, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();
  return png.toString('base64');
}

/** The MQTT module never reads metrics; its context still has the daemon's shape. */
const NO_METRICS: MetricsView = {
  contentType: 'text/plain',
  render: async () => '',
  eventLoopLag: () => ({ p50Ms: 0, p99Ms: 0, maxMs: 0 }),
};

export interface FakeDaemon {
  ctx: DaemonContext;
  analyser: FakeAnalyser;
  dir: string;
  /** Frames handed to the next captureFrames call. */
  captureQueue: Frame[];
}

export async function fakeDaemon(
  kioskId: string,
  dir = mkdtempSync(path.join(os.tmpdir(), `facegate-mqtt-${kioskId}-`)),
): Promise<FakeDaemon> {
  const db = await FaceDb.open(path.join(dir, 'faces.json'));
  const analyser = new FakeAnalyser();
  const captureQueue: Frame[] = [];
  const logger = pino({ level: process.env.FACEGATE_TEST_LOG ?? 'silent' });
  const bus = new EventBus();
  // As the controller does: every database change becomes one identitiesChanged event.
  db.onChange((id, change) => bus.emit('identitiesChanged', { id, change }));
  const ctx: DaemonContext = {
    bus,
    db,
    analyser,
    logger,
    kioskId,
    dataDir: path.join(dir, 'data'),
    frames: new FramePipeline({ analyser, bus, logger }),
    metrics: NO_METRICS,
    captureFrames: async (samples) => captureQueue.splice(0, samples),
  };
  return { ctx, analyser, dir, captureQueue };
}

export function testMqttConfig(url: string, protocolVersion: 4 | 5, extra: Partial<MqttConfigInput> = {}): MqttConfig {
  return mqttConfigSchema.parse({ url, protocolVersion, adminSecret: TEST_SECRET, ...extra });
}

/** Starts the module and waits until it is connected; stops it again if it never connects. */
export async function startConnected(
  ctx: DaemonContext,
  config: MqttConfig,
  opts: MqttModuleOptions = {},
): Promise<MqttModule> {
  const mod = createMqttModule(ctx, config, opts);
  try {
    await mod.start();
    await waitFor('the module to connect', () => (mod.connected ? true : undefined));
  } catch (err) {
    await mod.stop();
    throw err;
  }
  return mod;
}

/** An observer client; persistent session so it also gets what was published while it was away. */
export async function observer(
  url: string,
  protocolVersion: 4 | 5,
  clientId?: string,
  topics: string[] = ['#'],
): Promise<MqttClient> {
  const opts: IClientOptions = { protocolVersion, reconnectPeriod: 200, connectTimeout: 10_000 };
  if (clientId) {
    opts.clientId = clientId;
    opts.clean = false;
    if (protocolVersion === 5) opts.properties = { sessionExpiryInterval: 3600 };
  }
  const client = await mqtt.connectAsync(url, opts);
  await client.subscribeAsync(topics, { qos: 1 });
  return client;
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function accessEvent(seq: number, extra: Partial<import('../../src/bus/event-bus.ts').AccessEvent> = {}) {
  return {
    eventId: `evt-${String(seq).padStart(4, '0')}`,
    time: new Date().toISOString(),
    mode: 'badge+face' as const,
    badge: '****1234',
    identityId: null,
    identityName: null,
    decision: 'denied' as const,
    reason: 'unknown-badge',
    distance: null,
    threshold: null,
    latencyMs: null,
    ...extra,
  };
}

/** Collects JSON messages per topic from an observer client. */
export class Inbox {
  readonly messages: Array<{ topic: string; text: string; retain: boolean }> = [];
  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) =>
      this.messages.push({ topic, text: payload.toString('utf8'), retain: packet.retain }),
    );
  }
  on(topic: string): Array<{ topic: string; text: string; retain: boolean }> {
    return this.messages.filter((m) => m.topic === topic);
  }
  json(topic: string): Array<Record<string, unknown>> {
    return this.on(topic).map((m) => {
      try {
        return JSON.parse(m.text) as Record<string, unknown>;
      } catch {
        return { unparsable: m.text };
      }
    });
  }
  /** The result carrying this requestId, once it arrives. */
  result(base: string, verb: string, requestId: string): Promise<Record<string, unknown>> {
    return waitFor(`result of ${verb} ${requestId}`, () =>
      this.json(`${base}/cmd/${verb}/result`).find((r) => r.requestId === requestId),
    );
  }
}
