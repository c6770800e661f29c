/** What op compilers share: the graph, static layouts, consumers (for fusion), and weight-tensor ownership. */
import type * as TF from '@tensorflow/tfjs';
import { type ConstTensor, type Graph, type GraphNode, ModelFormatError } from './graph.ts';
import type { Layout, Value } from './layout.ts';

/** One compiled node (or fused run of nodes): reads its inputs from `env`, writes its output(s) there. */
export type Step = (env: Map<string, Value>) => void;

export interface CompileContext {
  label: string;
  graph: Graph;
  /** Static layout of every activation value. */
  layouts: Map<string, Layout>;
  consumers: Map<string, GraphNode[]>;
  /** Nodes folded into an earlier step; the executor skips them. */
  absorbed: Set<GraphNode>;
  /** Registers a weight tensor made at load so the model can dispose it. */
  keep<T extends TF.Tensor>(t: T): T;
}

export function constantOf(ctx: CompileContext, name: string | undefined): ConstTensor | undefined {
  return name === undefined ? undefined : ctx.graph.constants.get(name);
}

export function requireConstant(ctx: CompileContext, node: GraphNode, index: number, what: string): ConstTensor {
  const c = constantOf(ctx, node.inputs[index]);
  if (!c) throw new ModelFormatError(`${ctx.label}: ${node.op} "${node.name}": ${what} must be a constant`);
  return c;
}

/** The one node reading `value`, when exactly one does and the value is not a graph output (safe to fuse). */
export function soleConsumer(ctx: CompileContext, value: string): GraphNode | undefined {
  const readers = ctx.consumers.get(value) ?? [];
  if (readers.length !== 1 || ctx.graph.outputs.includes(value)) return undefined;
  return readers[0];
}

/** The other input of a two-input node, given one of them. */
export function otherInput(node: GraphNode, value: string): string | undefined {
  if (node.inputs.length !== 2) return undefined;
  return node.inputs[0] === value ? node.inputs[1] : node.inputs[0];
}

export function read(env: Map<string, Value>, name: string): Value {
  const v = env.get(name);
  if (!v) throw new Error(`graph value "${name}" was not computed`);
  return v;
}

export function refuse(ctx: CompileContext, node: GraphNode, why: string): ModelFormatError {
  return new ModelFormatError(`${ctx.label}: ${node.op} "${node.name}": ${why} is not implemented`);
}
