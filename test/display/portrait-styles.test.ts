/**
 * Portraits with styles that are not installed: one warning at start, a rotation over the installed styles only,
 * and a waiting visitor kept (not dropped) until a style is there to render with.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { pino } from 'pino';
import { httpSection } from '../../src/config/sections/http.ts';
import { PortraitCache } from '../../src/display/portrait-cache.ts';
import { type JobOutcome, PortraitService } from '../../src/display/portraits.ts';
import { addPerson, createFixture, type Fixture, fakeRenderer, sampleFace } from '../helpers/display-fixture.ts';

let fx: Fixture;
let clock = 1_700_000_000_000;
const services: PortraitService[] = [];

before(async () => {
  fx = await createFixture();
  await addPerson(fx.db, 'ada', 'Ada Lovelace', true);
  await addPerson(fx.db, 'cy', 'Cy Consent', true);
});
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
});
after(async () => {
  await fx?.close();
});

async function service(sub: string, installed: Set<string>, configured: string[] = ['wave', 'udnie']) {
  const config = httpSection.parse({ portraits: { idleSeconds: 60, styles: configured } }).portraits;
  const cache = await PortraitCache.open(
    path.join(fx.ctx.dataDir, sub),
    { maxCount: 30, maxAgeMs: 86_400_000 },
    () => clock,
  );
  const warnings: string[] = [];
  const infos: string[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        const { level, msg } = JSON.parse(line);
        (level >= 40 ? warnings : infos).push(msg);
      },
    },
  );
  const renderer = fakeRenderer(5);
  const outcomes: JobOutcome[] = [];
  const waiters: Array<(o: JobOutcome) => void> = [];
  const s = new PortraitService({
    bus: fx.bus,
    db: fx.db,
    logger,
    cache,
    renderer,
    config,
    styles: ['wave', 'udnie'],
    styleInstalled: (style) => installed.has(style),
    onPortraitsChanged: () => {},
    onProgress: () => {},
    onJob: (o) => {
      outcomes.push(o);
      waiters.shift()?.(o);
    },
    now: () => clock,
  });
  await s.start();
  services.push(s);
  const idle = () => {
    clock += 61_000;
    s.maybeStart();
  };
  return {
    s,
    renderer,
    warnings,
    infos,
    idle,
    next: () => new Promise<JobOutcome>((resolve) => waiters.push(resolve)),
  };
}

test('no configured style installed: one warning at start, the visitor waits, and gets a portrait once one is', async () => {
  const installed = new Set<string>();
  const h = await service('none', installed);
  assert.equal(h.warnings.length, 1);
  assert.match(h.warnings[0] as string, /none of the configured styles is installed \(wave, udnie\)/);
  assert.match(h.warnings[0] as string, /facegate models fetch fast-style wave/);
  fx.bus.emit('portraitCandidate', {
    identityId: 'ada',
    name: 'Ada Lovelace',
    faceCrop: await sampleFace(),
    time: clock,
  });
  for (let i = 0; i < 5; i++) h.idle();
  assert.equal(h.renderer.calls, 0);
  assert.equal(h.s.queued, 1, 'the visitor is still waiting');
  assert.equal(h.warnings.length, 1, 'said once, not on every idle tick');

  installed.add('udnie');
  const done = h.next();
  h.idle();
  const outcome = await done;
  assert.equal(outcome.result, 'done');
  assert.equal(outcome.style, 'udnie');
  assert.equal(h.s.queued, 0);
});

test('the rotation skips styles that are not installed', async () => {
  const h = await service('some', new Set(['udnie']));
  assert.equal(h.warnings.length, 0, 'one installed style is enough: no warning');
  const face = await sampleFace();
  for (const [id, name] of [
    ['ada', 'Ada Lovelace'],
    ['cy', 'Cy Consent'],
  ] as const) {
    fx.bus.emit('portraitCandidate', { identityId: id, name, faceCrop: face, time: clock });
    const done = h.next();
    h.idle();
    assert.equal((await done).result, 'done');
  }
  assert.deepEqual(
    h.renderer.requests.map((r) => r.style),
    ['udnie', 'udnie'],
  );
});

test('the built-in style list with none installed (a fresh clone) is said, not warned about', async () => {
  const h = await service('defaults', new Set(), []);
  assert.equal(h.warnings.length, 0);
  assert.equal(h.infos.filter((m) => m.includes('none of the configured styles is installed')).length, 1);
});
