/**
 * Which pipeline runs (src/recognition/pipeline-choice.ts) and how its distances are measured: the encoder traits
 * table agrees with the encoders themselves; a database of dlib encodings keeps dlib with exactly one migration note;
 * missing YuNet/reid models with an unreachable download fall back to the face-api pipeline with one warning naming
 * `models import` (the real fetcher against a closed local port: no network); reid matching is cosine, strict `<`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pinnedModelKind } from '../../src/models/pinned-kind.ts';
import type { ModelKind } from '../../src/models/registry.ts';
import { cosineDistance } from '../../src/recognition/embed/metric.ts';
import { declaredTraits, encoderTraits, metricOfEncoder } from '../../src/recognition/encoder-traits.ts';
import { createEncoder, encoderIds } from '../../src/recognition/encoders.ts';
import { faceReidSpec, yunetSpec } from '../../src/recognition/graph-model-kinds.ts';
import { choosePipeline } from '../../src/recognition/pipeline-choice.ts';
import { identifyDescriptor, verifyDescriptor } from '../../src/recognition/verification.ts';
import { FaceDb } from '../../src/store/face-db.ts';
import type { Identity } from '../../src/store/schema.ts';
import { importGraphModels } from '../helpers/graph-models.ts';
import { skipUnlessShared } from '../helpers/shared.ts';

function identity(id: string, encoder: string, vectors: number[][] = [[1, 0]]): Identity {
  return {
    id,
    name: id,
    badges: [],
    enabled: true,
    epoch: 0,
    version: 1,
    updatedAt: new Date(0).toISOString(),
    encodings: vectors.map((vector) => ({ vector, encoder, createdAt: '', quality: null, source: 'test' })),
  };
}

/** A local port nothing listens on: connecting is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('pipeline choice', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'facegate-choice-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the traits table matches what every registered encoder declares', () => {
    for (const id of encoderIds()) {
      const enc = createEncoder(id, { modelsDir: dir });
      assert.deepEqual(encoderTraits(id), declaredTraits(enc), id);
    }
    assert.equal(metricOfEncoder('reid-0095'), 'cosine');
    assert.equal(metricOfEncoder('dlib-resnet128'), 'euclidean');
  });

  test('a database enrolled with dlib-resnet128 keeps it (on tiny) and says once how to re-enroll', async () => {
    const identities = [identity('a', 'dlib-resnet128'), identity('b', 'dlib-resnet128'), identity('c', 'reid-0095')];
    const choice = await choosePipeline({
      detector: 'yunet',
      encoder: 'reid-0095',
      modelsDir: dir,
      identities,
      fetchMissing: false,
    });
    assert.equal(choice.encoder, 'dlib-resnet128');
    assert.equal(choice.detector, 'tiny');
    assert.equal(choice.notes.length, 1);
    assert.equal(choice.notes[0]!.event, 'encoder-migration');
    assert.match(choice.notes[0]!.message, /2 of 3 identities/);
    assert.match(choice.notes[0]!.message, /enroll --replace/);
    assert.match(choice.notes[0]!.message, /no "db reenroll"/);
  });

  test('an encoder named explicitly is not migrated', async () => {
    const identities = [identity('a', 'dlib-resnet128')];
    const choice = await choosePipeline({
      detector: 'tiny',
      encoder: 'facenet-nn4small2',
      encoderExplicit: true,
      modelsDir: dir,
      identities,
      fetchMissing: false,
    });
    assert.deepEqual(choice, { detector: 'tiny', encoder: 'facenet-nn4small2', notes: [] });
  });

  test('reid-0095 refuses the tiny detector with a line naming the alternatives', async () => {
    await assert.rejects(
      choosePipeline({ detector: 'tiny', encoder: 'reid-0095', modelsDir: dir, fetchMissing: false }),
      /needs the yunet detector.*dlib-resnet128/,
    );
  });

  test('missing models and an unreachable download: face-api pipeline, one warning naming models import', async () => {
    const port = await closedPort();
    const unreachable = (spec: typeof yunetSpec) =>
      pinnedModelKind({ ...spec, files: spec.files.map((f) => ({ ...f, url: `http://127.0.0.1:${port}/${f.file}` })) });
    const attempted: string[] = [];
    const fetchKind = (kind: ModelKind, modelsDir: string) => {
      attempted.push(kind.kind);
      return unreachable(kind.kind === 'yunet' ? yunetSpec : faceReidSpec).fetch!(modelsDir);
    };
    const empty = path.join(dir, 'empty');
    const choice = await choosePipeline({
      detector: 'yunet',
      encoder: 'reid-0095',
      modelsDir: empty,
      fetchMissing: true,
      fetchKind,
    });
    assert.deepEqual(attempted, ['yunet'], 'tried to fetch, stopped at the first failure');
    assert.equal(choice.detector, 'tiny');
    assert.equal(choice.encoder, 'dlib-resnet128');
    assert.equal(choice.notes.length, 1);
    assert.equal(choice.notes[0]!.level, 'warn');
    assert.match(choice.notes[0]!.message, /facegate models import yunet/);
    assert.match(choice.notes[0]!.message, /ECONNREFUSED/);
    // Atomic: nothing half-fetched where the loader looks.
    assert.deepEqual(await readdir(empty).catch(() => []), []);
  });

  test('the same failure is an error when reid-0095 was asked for by name, or the database needs it', async () => {
    const base = { detector: 'yunet' as const, encoder: 'reid-0095', modelsDir: path.join(dir, 'none') };
    await assert.rejects(
      choosePipeline({ ...base, encoderExplicit: true, fetchMissing: false }),
      /yunet model not found/,
    );
    await assert.rejects(
      choosePipeline({ ...base, identities: [identity('a', 'reid-0095')], fetchMissing: false }),
      /only that model can match/,
    );
  });

  test('a successful fetch is one info note and the new pipeline', { skip: skipUnlessShared }, async () => {
    const target = path.join(dir, 'fetched');
    const choice = await choosePipeline({
      detector: 'yunet',
      encoder: 'reid-0095',
      modelsDir: target,
      fetchMissing: true,
      // Stands in for the download: the same atomic, pinned install from the shared copies.
      fetchKind: async (kind, modelsDir) => {
        if (kind.kind === 'yunet') await importGraphModels(modelsDir);
        return 'ok';
      },
    });
    assert.deepEqual([choice.detector, choice.encoder], ['yunet', 'reid-0095']);
    assert.deepEqual(
      choice.notes.map((n) => [n.level, n.event]),
      [['info', 'models-fetched']],
    );
  });
});

describe('metric-aware matching', () => {
  let dir = '';
  let db: FaceDb;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'facegate-metric-'));
    db = await FaceDb.open(path.join(dir, 'faces.json'));
    // Stored vectors need not be unit length (an imported file): cosine ignores the scale.
    await db.put(identity('near', 'reid-0095', [[3, 1, 0]]));
    await db.put(identity('far', 'reid-0095', [[0, 0, 2]]));
  });
  after(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('verify and identify report cosine distance 1 - cos for reid-0095', () => {
    const probe = Float32Array.from([1, 1, 0]);
    const expected = cosineDistance(probe, [3, 1, 0]);
    const v = verifyDescriptor(db, probe, 'near', 'reid-0095', 0.6);
    assert.ok(Math.abs(v.distance! - expected) < 1e-12, `${v.distance} vs ${expected}`);
    assert.equal(v.match, true);
    const i = identifyDescriptor(db, probe, 'reid-0095', 0.6);
    assert.equal(i.identity, 'near');
    assert.ok(Math.abs(i.distance! - expected) < 1e-6, `${i.distance} vs ${expected}`);
    assert.ok(Math.abs(i.runnerUp!.distance - 1) < 1e-6, 'orthogonal runner-up at cosine distance 1');
  });

  test('the tie rule stays strict: a distance equal to the threshold is refused', () => {
    const probe = Float32Array.from([1, 1, 0]);
    const d = verifyDescriptor(db, probe, 'near', 'reid-0095', 1).distance!;
    assert.equal(verifyDescriptor(db, probe, 'near', 'reid-0095', d).match, false);
    assert.equal(verifyDescriptor(db, probe, 'near', 'reid-0095', d + 1e-9).match, true);
  });
});
