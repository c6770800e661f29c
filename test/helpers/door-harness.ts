/**
 * The door flow on a bench: a fake clock, a real (temporary) face database of synthetic descriptors and frame
 * analyses built by hand, so every rule of the state machine runs without a camera or a model.
 * People: alice (badge 10001234), bob (20005678), carol (30009999, disabled), dave (40004444, expired), each the
 * one-hot vector of their index (0..3): √2 apart, far beyond the threshold.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach } from 'node:test';
import { pino } from 'pino';
import { type AccessEvent, type AlarmEvent, EventBus, type FlowStateEvent } from '../../src/bus/event-bus.ts';
import type { FrameAnalysis } from '../../src/bus/module.ts';
import { defaultConfig } from '../../src/config/index.ts';
import { DoorFlow, type DoorFlowOptions, type DoorFlowSettings } from '../../src/door/door-flow.ts';
import { FaceDb } from '../../src/store/face-db.ts';
import { FakeClock } from './fake-clock.ts';

export const ENCODER = 'test-encoder';
export const THRESHOLD = 0.6;
export const BADGES = { alice: '10001234', bob: '20005678', carol: '30009999', dave: '40004444' } as const;

/** A 128-d vector that is far (distance √2 · scale) from every other person's. */
export function personVector(index: number): Float32Array {
  const v = new Float32Array(128);
  v[index] = 1;
  return v;
}

export function near(v: Float32Array, offset = 0.05): Float32Array {
  const out = Float32Array.from(v);
  out[127] = (out[127] ?? 0) + offset;
  return out;
}

export interface Harness {
  flow: DoorFlow;
  bus: EventBus;
  clock: FakeClock;
  access: AccessEvent[];
  alarms: AlarmEvent[];
  states: FlowStateEvent[];
  pulses: string[];
  logLines: string[];
  frame(
    descriptor: Float32Array | null,
    opts?: { faceSize?: number; capturedAt?: number; pad?: number; landmarks68?: Float32Array },
  ): void;
  badge(number: string): void;
}

/** Settings over the defaults; `lockout` and the other attempt sections merge with their own defaults. */
export type SettingsOverrides = Partial<Omit<DoorFlowSettings, 'lockout' | 'faceLockout' | 'antiSpoofing'>> & {
  lockout?: Partial<DoorFlowSettings['lockout']>;
  faceLockout?: Partial<DoorFlowSettings['faceLockout']>;
  antiSpoofing?: Partial<DoorFlowSettings['antiSpoofing']>;
};

export function doorSettings(overrides: SettingsOverrides = {}): DoorFlowSettings {
  const defaults = defaultConfig().door;
  return {
    ...defaults,
    ...overrides,
    lockout: { ...defaults.lockout, ...overrides.lockout },
    faceLockout: { ...defaults.faceLockout, ...overrides.faceLockout },
    // Anti-spoofing off unless a test asks for it: these hand-made frames carry no PAD score or landmarks, and
    // the rules under test here are the flow's own (test/door/liveness-gate.test.ts covers the gate).
    antiSpoofing: { ...defaults.antiSpoofing, mode: 'off', ...overrides.antiSpoofing },
  };
}

/** A fresh face database per test (beforeEach/afterEach of the calling file); returns its getter. */
export function useFaceDb(): () => FaceDb {
  let dir = '';
  let db: FaceDb | null = null;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'facegate-flow-'));
    db = await FaceDb.open(path.join(dir, 'faces.json'));
    const people: Array<[string, string, boolean, string | undefined]> = [
      ['alice', BADGES.alice, true, undefined],
      ['bob', BADGES.bob, true, undefined],
      ['carol', BADGES.carol, false, undefined],
      ['dave', BADGES.dave, true, '2001-01-01T00:00:00Z'],
    ];
    for (const [index, [id, badge, enabled, validUntil]] of people.entries()) {
      const name = id[0]!.toUpperCase() + id.slice(1);
      await db.upsert({ id, name, badges: [badge], enabled, ...(validUntil ? { validUntil } : {}) });
      await db.addEncodings(id, [encoding(personVector(index))]);
    }
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!db) throw new Error('useFaceDb: no database outside a test');
    return db;
  };
}

export function encoding(v: Float32Array) {
  return {
    vector: Array.from(v),
    encoder: ENCODER,
    createdAt: new Date().toISOString(),
    quality: null,
    source: 'test',
  };
}

export async function harness(
  db: FaceDb,
  overrides: SettingsOverrides = {},
  extra: Pick<DoorFlowOptions, 'liveness'> = {},
): Promise<Harness> {
  const bus = new EventBus();
  const clock = new FakeClock();
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const pulses: string[] = [];
  const flow = new DoorFlow({
    bus,
    db,
    door: { pulse: (reason: string) => pulses.push(reason) },
    logger: pino({ level: 'info' }, sink),
    settings: doorSettings(overrides),
    encoderId: ENCODER,
    threshold: THRESHOLD,
    clock,
    ...extra,
  });
  const h: Harness = {
    flow,
    bus,
    clock,
    access: [],
    alarms: [],
    states: [],
    pulses,
    logLines,
    frame(descriptor, opts = {}) {
      clock.advance(100);
      const size = opts.faceSize ?? 150;
      const analysis: FrameAnalysis = {
        seq: 0,
        capturedAt: opts.capturedAt ?? clock.now() - 60,
        analysedAt: clock.now(),
        faces: descriptor
          ? [
              {
                box: { x: 10, y: 10, width: size, height: size },
                score: 0.9,
                descriptor,
                ...(opts.pad === undefined ? {} : { pad: opts.pad }),
                ...(opts.landmarks68 ? { landmarks68: opts.landmarks68 } : {}),
              },
            ]
          : [],
      };
      flow.onFrameAnalysis(analysis);
    },
    badge(number) {
      bus.emit('badgeRead', { badge: number, source: 'test' });
    },
  };
  bus.on('access', (e) => h.access.push(e));
  bus.on('alarm', (e) => h.alarms.push(e));
  bus.on('flowState', (e) => h.states.push(e));
  await flow.start();
  return h;
}

/** A fresh database per test and harnesses on it: `const { harness, faceDb } = useDoorBench()` at file level. */
export function useDoorBench(): {
  faceDb: () => FaceDb;
  harness: (overrides?: SettingsOverrides) => Promise<Harness>;
} {
  const faceDb = useFaceDb();
  return { faceDb, harness: (overrides = {}) => harness(faceDb(), overrides) };
}
