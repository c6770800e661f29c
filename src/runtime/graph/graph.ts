/**
 * The one internal representation both model readers (ONNX protobuf, OpenVINO IR XML) produce and the executor
 * compiles: nodes in topological order with an ONNX-style op type, named inputs/outputs, attributes, and constant
 * tensors (weights, shapes) already widened to float32. Shapes and attributes use the models' own NCHW convention;
 * the executor alone decides how tensors are laid out in memory.
 */
import { FacegateError } from '../../util/errors.ts';

/** Ops the executor implements; each reader refuses any other op, naming it. */
export const SUPPORTED_OPS = [
  'Add',
  'AveragePool',
  'BatchNormalization',
  'Conv',
  'GlobalAveragePool',
  'MatMul',
  'MaxPool',
  'Mul',
  'PRelu',
  'Relu',
  'Reshape',
  'Resize',
  'Sigmoid',
  'Transpose',
] as const;
export type OpType = (typeof SUPPORTED_OPS)[number];

export function isSupportedOp(op: string): op is OpType {
  return (SUPPORTED_OPS as readonly string[]).includes(op);
}

export type AttrValue = number | number[] | string;

export interface GraphNode {
  op: OpType;
  name: string;
  /** Value names; an empty string is an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

/** A constant: float weights (float16 already widened), or integer data such as a Reshape target shape. */
export interface ConstTensor {
  shape: number[];
  data: Float32Array;
}

export interface GraphInput {
  name: string;
  /** As declared by the model (NCHW for images); `null` for a symbolic dimension. */
  shape: (number | null)[];
}

export interface Graph {
  format: 'onnx' | 'openvino-ir';
  inputs: GraphInput[];
  outputs: string[];
  nodes: GraphNode[];
  constants: Map<string, ConstTensor>;
}

/** A model file that cannot be read: always one line naming the file. */
export class ModelFormatError extends FacegateError {}

export function unsupportedOp(label: string, op: string, node: string): ModelFormatError {
  return new ModelFormatError(
    `${label}: operator "${op}" (node "${node}") is not implemented by facegate's graph executor ` +
      `(implemented: ${SUPPORTED_OPS.join(', ')})`,
  );
}

export function numberAttr(node: GraphNode, name: string, fallback?: number): number {
  const v = node.attrs[name];
  if (typeof v === 'number') return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new ModelFormatError(`${node.op} node "${node.name}": attribute ${name} missing or not a number`);
}

export function intsAttr(node: GraphNode, name: string, fallback?: number[]): number[] {
  const v = node.attrs[name];
  if (Array.isArray(v)) return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new ModelFormatError(`${node.op} node "${node.name}": attribute ${name} missing or not a list`);
}

export function stringAttr(node: GraphNode, name: string, fallback: string): string {
  const v = node.attrs[name];
  if (typeof v === 'string') return v;
  if (v === undefined) return fallback;
  throw new ModelFormatError(`${node.op} node "${node.name}": attribute ${name} is not a string`);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Checks the graph is closed: every input of every node is a graph input, a constant or an earlier output. */
export function checkGraph(graph: Graph, label: string): void {
  const known = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.constants.keys(), '']);
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (!known.has(input)) {
        throw new ModelFormatError(`${label}: node "${node.name}" reads "${input}", which nothing produces`);
      }
    }
    for (const output of node.outputs) known.add(output);
  }
  for (const output of graph.outputs) {
    if (!known.has(output)) throw new ModelFormatError(`${label}: graph output "${output}" is never produced`);
  }
  if (graph.inputs.length === 0) throw new ModelFormatError(`${label}: the graph has no input`);
}
