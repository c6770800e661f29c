/**
 * Builds the pipeline the options name: `yunet` → YuNet + five-point alignment + reid-0095 (yunet-pipeline.ts);
 * `tiny`/`ssd` → face-api detection + 68 landmarks + a 68-landmark encoder (pipeline.ts). Callers settle the
 * detector/encoder pair and the models first (pipeline-choice.ts), so a mismatch here is a plain error.
 */
import type { FaceAnalysisPipeline } from './face-types.ts';
import { FacePipeline, type PipelineOptions } from './pipeline.ts';
import { YunetPipeline } from './yunet-pipeline.ts';

export async function createPipeline(opts: PipelineOptions = {}): Promise<FaceAnalysisPipeline> {
  if ((opts.detector ?? 'yunet') === 'yunet') {
    return YunetPipeline.create({
      backend: opts.backend,
      yunetInputSize: opts.yunetInputSize,
      encoder: opts.encoder,
      modelsDir: opts.modelsDir,
    });
  }
  return FacePipeline.create(opts);
}
