/**
 * A complete, validated set of FaceNet weights (whatever it was read from: CSV directory or imported binary), and
 * the bookkeeping that proves the network consumes every tensor exactly once with exactly the listed shape.
 */
import { FacegateError } from '../../util/errors.ts';
import { FACENET_TENSORS, type TensorSpec, tensorSpec } from './shape-table.ts';

/** Values in the stored layout of the exercise (conv [out,in,kh,kw], dense [out,in]), keyed by tensor name. */
export interface WeightTable {
  readonly source: string;
  readonly values: ReadonlyMap<string, Float32Array>;
}

/**
 * Builds a table from values already read; refuses anything but the full set with exact sizes, so no caller can
 * ever hold a partial model.
 */
export function completeWeightTable(source: string, values: Map<string, Float32Array>): WeightTable {
  for (const t of FACENET_TENSORS) {
    const v = values.get(t.name);
    if (!v) throw new FacegateError(`FaceNet weights in ${source}: tensor ${t.name} is missing`);
    if (v.length !== t.size) {
      throw new FacegateError(
        `FaceNet weights in ${source}: ${t.name} has ${v.length} values, expected ${t.size} for shape [${t.shape.join(', ')}]`,
      );
    }
  }
  for (const name of values.keys()) {
    if (!tensorSpec(name)) throw new FacegateError(`FaceNet weights in ${source}: unexpected tensor ${name}`);
  }
  return { source, values };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Hands out tensors to the network builder. `take` fails when the network asks for a name the table lacks, a
 * shape the table disagrees with, or a tensor twice; `finish` fails if any table entry was never asked for.
 */
export class ConsumptionTracker {
  readonly #table: WeightTable;
  readonly #taken = new Set<string>();

  constructor(table: WeightTable) {
    this.#table = table;
  }

  take(name: string, expectedShape: readonly number[]): Float32Array {
    const spec: TensorSpec | undefined = tensorSpec(name);
    if (!spec) throw new FacegateError(`FaceNet network asks for ${name}, which is not in the weight table`);
    if (!sameShape(spec.shape, expectedShape)) {
      throw new FacegateError(
        `FaceNet network expects ${name} as [${expectedShape.join(', ')}] but the table has [${spec.shape.join(', ')}]`,
      );
    }
    if (this.#taken.has(name)) throw new FacegateError(`FaceNet network consumes ${name} twice`);
    const values = this.#table.values.get(name);
    if (!values) throw new FacegateError(`FaceNet weights in ${this.#table.source}: tensor ${name} is missing`);
    this.#taken.add(name);
    return values;
  }

  get consumed(): number {
    return this.#taken.size;
  }

  finish(): void {
    const unused = FACENET_TENSORS.filter((t) => !this.#taken.has(t.name)).map((t) => t.name);
    if (unused.length > 0) {
      throw new FacegateError(
        `FaceNet network left ${unused.length} weight tensor(s) unused: ${unused.slice(0, 5).join(', ')}${unused.length > 5 ? ', ...' : ''}`,
      );
    }
  }
}
