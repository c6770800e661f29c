/**
 * The default pipeline's models (YuNet, reid-0095) imported from ../shared into a temp models directory, as
 * `facegate models import` does on an offline machine (pinned sha256 checked, atomic). Tests point
 * `--models-dir` / `recognition.modelsDir` at it; the network is never used.
 */
import { faceReidModelKind, yunetModelKind } from '../../src/recognition/graph-model-kinds.ts';
import { sharedPath } from './shared.ts';

export async function importGraphModels(modelsDir: string): Promise<void> {
  await yunetModelKind.importFrom!(sharedPath('models', 'yunet'), modelsDir);
  await faceReidModelKind.importFrom!(sharedPath('models', 'face-reid-0095'), modelsDir);
}
