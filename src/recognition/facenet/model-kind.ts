/**
 * The `facenet` model kind: `facegate models import facenet <dir>` converts the exercise's CSV weight directory
 * into the binary form the encoder loads; `facegate models list` reports whether that import is present and intact.
 * There is no `fetch`: the exercise's weights have no public home with stable hashes to pin.
 */
import type { ModelKind, ModelListing } from '../../models/registry.ts';
import { errorMessage } from '../../util/errors.ts';
import { facenetModelDir, importFacenetWeights, loadFacenetBinary } from './binary.ts';

export const facenetModelKind: ModelKind = {
  kind: 'facenet',
  description:
    "the course exercise's FaceNet nn4.small2 (CSV weight directory; import with `models import facenet <dir>`)",
  importFrom(source: string, modelsDir: string): Promise<string> {
    return importFacenetWeights(source, modelsDir);
  },
  async list(modelsDir: string): Promise<ModelListing[]> {
    const location = facenetModelDir(modelsDir);
    try {
      // Full load, not just the manifest: the listing then also proves the table matches the network's shapes.
      await loadFacenetBinary(modelsDir);
      return [{ kind: 'facenet', name: 'nn4small2', location, status: 'ready' }];
    } catch (err) {
      const message = errorMessage(err);
      const status = / not found in /.test(message) ? 'missing' : 'invalid';
      return [{ kind: 'facenet', name: 'nn4small2', location, status, detail: message }];
    }
  },
};
