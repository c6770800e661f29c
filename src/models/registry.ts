/**
 * Kinds of weights the `facegate models` command knows. Each domain (recognition, nst) contributes its kinds in
 * `kinds.ts`, so the command stays one small file.
 */
export interface ModelListing {
  kind: string;
  name: string;
  location: string;
  status: 'ready' | 'missing' | 'invalid';
  detail?: string;
}

export interface ModelKind {
  kind: string;
  description: string;
  /** Converts or copies weights from `source` into the models directory; returns a one-line summary. */
  importFrom?(source: string, modelsDir: string, name?: string): Promise<string>;
  /** Downloads weights from their public home with pinned sha256s; returns a one-line summary. */
  fetch?(modelsDir: string, name?: string): Promise<string>;
  list(modelsDir: string): Promise<ModelListing[]>;
}
