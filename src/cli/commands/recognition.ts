/**
 * `facegate enroll | verify | identify`: the exercise's questions from the command line.
 * Exit codes: 0 match/found (or enrolled), 1 no match/not found, 2 error.
 * Distances are in the encoder's metric, named in the output (`metric` in JSON): cosine distance 1-cos for
 * reid-0095 (the default), Euclidean for dlib-resnet128 and facenet-nn4small2. A database enrolled with another
 * encoder is matched with that encoder (pipeline-choice.ts); `enroll --replace` re-enrolls a person with the
 * configured one.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { metricOfEncoder } from '../../recognition/encoder-traits.ts';
import { checkEnrollmentSample } from '../../recognition/enrollment.ts';
import { identifyDescriptor, verifyDescriptor } from '../../recognition/verification.ts';
import { loadImage, type RgbImage } from '../../runtime/image.ts';
import type { FaceDb } from '../../store/face-db.ts';
import type { StoredEncoding } from '../../store/schema.ts';
import { ExitCode, FacegateError } from '../../util/errors.ts';
import { type GlobalFlags, globalFlags, output } from '../context.ts';
import {
  metricName,
  openDb,
  openPipeline,
  qualityGateFor,
  type RecognitionFlags,
  recognitionOptions,
  thresholdFor,
} from '../recognition-setup.ts';

/** Encodes the one face of an image given for verify/identify; "no face" is an answer (exit 1), not an error. */
async function probeDescriptor(file: string, flags: RecognitionFlags, cmd: Command, db: FaceDb) {
  // The image first: a bad file is reported at once, before seconds of model loading.
  const image = await loadImage(file, { maxPixels: flags.maxPixels });
  const pipeline = await openPipeline(cmd, flags, db.list());
  const result = await pipeline.analyse(image, { noDetect: flags.detect === false });
  const threshold = await thresholdFor(cmd, pipeline.encoder, flags);
  return { pipeline, face: result.faces[0] ?? null, threshold, metric: metricName(pipeline.encoder.id) };
}

function reportNoFace(flags: GlobalFlags, file: string, fields: Record<string, unknown>): void {
  output(flags, { ...fields, reason: 'no-face' }, `no face found in ${file}`);
  process.exitCode = ExitCode.noMatch;
}

export function registerRecognitionCommands(program: Command): void {
  recognitionOptions(
    program
      .command('enroll <id> <images...>')
      .description('add a person (or more photos of them) to the database; several photos per person match better')
      .option('--name <name>', 'display name (default: the id)')
      .option(
        '--badge <badge>',
        'badge number held by this person (repeatable)',
        (v: string, acc: string[]) => [...acc, v],
        [],
      )
      .option('--largest', 'accept photos with several faces by taking the largest')
      .option(
        '--replace',
        "replace the person's encodings with these photos' (re-enroll, e.g. with a newer encoder; there is no db reenroll: no photos are stored)",
      )
      .option('--portrait-consent', 'the person agreed to stylized welcome portraits')
      .option('--group <name>', 'access group (repeatable; must exist)', (v: string, acc: string[]) => [...acc, v], []),
  ).action(
    async (
      id: string,
      images: string[],
      opts: RecognitionFlags & {
        name?: string;
        badge: string[];
        largest?: boolean;
        portraitConsent?: boolean;
        group: string[];
        replace?: boolean;
      },
      cmd: Command,
    ) => {
      const flags = globalFlags(cmd);
      const db = await openDb(cmd, { create: true });
      if (opts.replace && !db.get(id)) throw new FacegateError(`--replace: no identity "${id}" to re-enroll`);
      // Before seconds of model loading: an unknown group is one line and nothing is stored.
      if (opts.group.length > 0) (await import('../../access/rule-edits.ts')).checkGroupsExist(db.rules(), opts.group);
      // A plain enrollment joins the database's encoder; --replace re-enrolls with the configured (or named) one.
      const pipeline = await openPipeline(cmd, opts, opts.replace ? undefined : db.list());
      const gate = await qualityGateFor(cmd, opts.largest === true);
      const samples: Array<{ image: string; accepted: boolean; reason: string | null }> = [];
      const encodings: StoredEncoding[] = [];
      for (const file of images) {
        let image: RgbImage;
        try {
          image = await loadImage(file, { maxPixels: opts.maxPixels });
        } catch (err) {
          if (!(err instanceof FacegateError)) throw err;
          samples.push({ image: file, accepted: false, reason: `not-an-image: ${err.message}` });
          continue;
        }
        const result = await pipeline.analyse(image, { noDetect: opts.detect === false, allFaces: false });
        const sample = checkEnrollmentSample(result, gate, `cli:${path.basename(file)}`, pipeline.encoder.id);
        samples.push({ image: file, accepted: sample.accepted, reason: sample.reason });
        if (sample.encoding) encodings.push(sample.encoding);
      }
      if (encodings.length === 0) {
        output(
          flags,
          { enrolled: false, identity: id, samples },
          samples.map((s) => `rejected ${s.image}: ${s.reason}`).join('\n'),
        );
        throw new FacegateError(`nothing enrolled for "${id}": no photo passed the quality gate`);
      }
      const existing = db.get(id);
      await db.upsert({
        id,
        name: opts.name ?? existing?.name ?? id,
        badges: [...new Set([...(existing?.badges ?? []), ...opts.badge])],
        enabled: existing?.enabled ?? true,
        validFrom: existing?.validFrom,
        validUntil: existing?.validUntil,
        portraitConsent: opts.portraitConsent ?? existing?.portraitConsent,
        groups:
          opts.group.length > 0 ? [...new Set([...(existing?.groups ?? []), ...opts.group])].sort() : existing?.groups,
      });
      const replaced = opts.replace ? (existing?.encodings.length ?? 0) : 0;
      const identity = opts.replace ? await db.replaceEncodings(id, encodings) : await db.addEncodings(id, encodings);
      const metric = metricName(pipeline.encoder.id);
      const human = [
        ...samples.map((s) => `${s.accepted ? 'accepted' : 'rejected'} ${s.image}${s.reason ? `: ${s.reason}` : ''}`),
        `enrolled ${id}: ${identity.encodings.length} encoding(s) with ${pipeline.encoder.id} (${metric})${opts.replace ? `, replacing ${replaced}` : ''}`,
      ].join('\n');
      output(
        flags,
        {
          enrolled: true,
          identity: id,
          encodings: identity.encodings.length,
          encoder: pipeline.encoder.id,
          metric: metricOfEncoder(pipeline.encoder.id),
          replaced,
          samples,
        },
        human,
      );
    },
  );

  recognitionOptions(
    program
      .command('verify <image> <id>')
      .description('1:1 — is the face in <image> the person <id>? (exit 0 yes, 1 no)'),
  ).action(async (file: string, id: string, opts: RecognitionFlags, cmd: Command) => {
    const flags = globalFlags(cmd);
    const db = await openDb(cmd);
    const { pipeline, face, threshold, metric } = await probeDescriptor(file, opts, cmd, db);
    if (!face)
      return reportNoFace(flags, file, {
        match: false,
        identity: id,
        distance: null,
        threshold,
        encoder: pipeline.encoder.id,
        metric: metricOfEncoder(pipeline.encoder.id),
      });
    const r = verifyDescriptor(db, face.descriptor, id, pipeline.encoder.id, threshold);
    const json = {
      match: r.match,
      identity: r.identity,
      distance: r.distance,
      threshold: r.threshold,
      encoder: r.encoder,
      reason: r.reason,
      metric: metricOfEncoder(r.encoder),
    };
    const dist = r.distance === null ? 'n/a' : r.distance.toFixed(3);
    output(
      flags,
      json,
      r.match
        ? `match: it's ${id} (${metric} ${dist} < ${threshold}, ${r.encoder})`
        : `no match for ${id}: ${r.reason} (${metric} ${dist}, threshold ${threshold}, ${r.encoder})`,
    );
    process.exitCode = r.match ? ExitCode.ok : ExitCode.noMatch;
  });

  recognitionOptions(
    program
      .command('identify <image>')
      .description("1:N — who is the face in <image>? (the exercise's who_is_it; exit 0 found, 1 not in the database)"),
  ).action(async (file: string, opts: RecognitionFlags, cmd: Command) => {
    const flags = globalFlags(cmd);
    const db = await openDb(cmd);
    const { pipeline, face, threshold, metric } = await probeDescriptor(file, opts, cmd, db);
    const metricId = metricOfEncoder(pipeline.encoder.id);
    if (!face)
      return reportNoFace(flags, file, {
        identity: null,
        distance: null,
        threshold,
        encoder: pipeline.encoder.id,
        metric: metricId,
      });
    const r = identifyDescriptor(db, face.descriptor, pipeline.encoder.id, threshold);
    const json = {
      identity: r.identity,
      distance: r.distance,
      threshold: r.threshold,
      encoder: r.encoder,
      metric: metricId,
    };
    const dist = r.distance === null ? 'n/a' : r.distance.toFixed(3);
    output(
      flags,
      json,
      r.identity
        ? `it's ${r.identity} (${metric} ${dist} < ${threshold}, ${r.encoder})`
        : `not in the database (nearest ${metric} ${dist}, threshold ${threshold}, ${r.encoder})`,
    );
    process.exitCode = r.identity ? ExitCode.ok : ExitCode.noMatch;
  });
}
