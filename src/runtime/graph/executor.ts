/**
 * The graph executor: compiles a Graph (from either reader) once into a list of tfjs steps — weights converted,
 * BatchNorm/bias/activation fused into convolutions, 4-D activations kept NHWC — and runs it inside tf.tidy so
 * every intermediate tensor is freed. Works on whichever tfjs backend is active (the kiosk uses wasm).
 *
 * Input/output convention: a 4-D graph input is fed NHWC ([N, H, W, C], the layout images already have); outputs
 * come back in the model's own layout (NCHW for 4-D), ready to compare with any other runtime.
 */
import { readFile, stat } from 'node:fs/promises';
import type * as TF from '@tensorflow/tfjs';
import { tf } from '../tf.ts';
import { type CompileContext, read, type Step } from './context.ts';
import { type Graph, type GraphInput, type GraphNode, ModelFormatError } from './graph.ts';
import { MAX_IR_BIN_BYTES, MAX_IR_XML_BYTES, readIr } from './ir-reader.ts';
import { asLogical, type Layout, type Value } from './layout.ts';
import { MAX_ONNX_BYTES, readOnnx } from './onnx-reader.ts';
import { compileNode } from './ops.ts';

/** The nodes the graph outputs depend on (a graph cut short, e.g. for a test, skips the rest). */
function liveNodes(graph: Graph): Set<GraphNode> {
  const producer = new Map<string, GraphNode>();
  for (const node of graph.nodes) for (const out of node.outputs) producer.set(out, node);
  const live = new Set<GraphNode>();
  const pending = [...graph.outputs];
  while (pending.length > 0) {
    const node = producer.get(pending.pop()!);
    if (!node || live.has(node)) continue;
    live.add(node);
    pending.push(...node.inputs);
  }
  return live;
}

export class GraphModel {
  readonly inputs: readonly GraphInput[];
  readonly outputs: readonly string[];
  /** Compiled steps after fusion (fewer than the graph's nodes). */
  readonly stepCount: number;
  /** One line per step: its op and the ops folded into it, e.g. `Conv+BatchNormalization+PRelu "conv1"`. */
  readonly plan: readonly string[];
  private readonly steps: Step[];
  private readonly weights: TF.Tensor[];
  private disposed = false;

  private constructor(graph: Graph, steps: Step[], plan: string[], weights: TF.Tensor[]) {
    this.inputs = graph.inputs;
    this.outputs = graph.outputs;
    this.steps = steps;
    this.stepCount = steps.length;
    this.plan = plan;
    this.weights = weights;
  }

  /** Converts the weights and plans the run; the tfjs backend must be initialised. */
  static compile(graph: Graph, label: string): GraphModel {
    const weights: TF.Tensor[] = [];
    const consumers = new Map<string, GraphNode[]>();
    for (const node of graph.nodes) {
      for (const input of node.inputs) {
        if (input && !graph.constants.has(input)) consumers.set(input, [...(consumers.get(input) ?? []), node]);
      }
    }
    const layouts = new Map<string, Layout>(
      graph.inputs.map((i) => [i.name, i.shape.length === 4 ? 'nhwc' : 'plain'] as const),
    );
    const ctx: CompileContext = {
      label,
      graph,
      layouts,
      consumers,
      absorbed: new Set(),
      keep: (t) => {
        weights.push(t);
        return t;
      },
    };
    const steps: Step[] = [];
    const plan: string[] = [];
    const live = liveNodes(graph);
    try {
      for (const node of graph.nodes) {
        if (!live.has(node) || ctx.absorbed.has(node)) continue;
        const before = ctx.absorbed.size;
        steps.push(compileNode(ctx, node));
        const folded = [...ctx.absorbed].slice(before).map((n) => `+${n.op}`);
        plan.push(`${node.op}${folded.join('')} "${node.name}"`);
      }
    } catch (err) {
      for (const w of weights) w.dispose();
      throw err;
    }
    return new GraphModel(graph, steps, plan, weights);
  }

  /**
   * Runs the graph. 4-D inputs are NHWC; the caller keeps ownership of the feeds and must dispose the returned
   * tensors.
   */
  run(feeds: Record<string, TF.Tensor>): Record<string, TF.Tensor> {
    if (this.disposed) throw new Error('graph model used after dispose()');
    for (const input of this.inputs) {
      const t = feeds[input.name];
      if (!t) throw new Error(`missing graph input "${input.name}"`);
      const channels = input.shape[1];
      const fed = input.shape.length === 4 ? t.shape[3] : t.shape[1];
      if (t.rank !== input.shape.length || (channels != null && fed !== channels)) {
        throw new Error(`graph input "${input.name}" expects rank ${input.shape.length} with ${channels} channels`);
      }
    }
    return tf.tidy(() => {
      const env = new Map<string, Value>();
      for (const input of this.inputs) {
        env.set(input.name, { tensor: feeds[input.name]!, layout: input.shape.length === 4 ? 'nhwc' : 'plain' });
      }
      for (const step of this.steps) step(env);
      const out: Record<string, TF.Tensor> = {};
      for (const name of this.outputs) out[name] = asLogical(read(env, name));
      return out;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const w of this.weights) w.dispose();
  }
}

/** Reads a whole model file after checking its size, with one-line errors for unreadable paths. */
export async function readModelFile(file: string, maxBytes: number): Promise<Uint8Array> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new ModelFormatError(`${file}: not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof ModelFormatError) throw err;
    throw new ModelFormatError(`${file}: cannot read model (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  if (size > maxBytes) throw new ModelFormatError(`${file}: ${size} bytes is larger than the ${maxBytes} byte limit`);
  return new Uint8Array(await readFile(file));
}

export async function loadOnnxModel(file: string): Promise<GraphModel> {
  return GraphModel.compile(readOnnx(await readModelFile(file, MAX_ONNX_BYTES), file), file);
}

/** An OpenVINO IR: `xmlFile` and its weights (default: the same name with `.bin`). */
export async function loadIrModel(xmlFile: string, binFile = xmlFile.replace(/\.xml$/i, '.bin')): Promise<GraphModel> {
  const xml = await readModelFile(xmlFile, MAX_IR_XML_BYTES);
  const bin = await readModelFile(binFile, MAX_IR_BIN_BYTES);
  return GraphModel.compile(readIr(xml, bin, xmlFile), xmlFile);
}
