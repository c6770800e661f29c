/**
 * Reads an ONNX model (protobuf, decoded by protobufjs with the schema in onnx-schema.ts) into the executor's
 * graph representation. Bounded and strict: the file size is checked before decoding, a truncated or garbage file is
 * one ModelFormatError line, and an operator the executor does not implement is refused here, naming it.
 */
import { float16ToFloat32 } from './float16.ts';
import {
  type AttrValue,
  type ConstTensor,
  checkGraph,
  elementCount,
  type Graph,
  type GraphInput,
  type GraphNode,
  isSupportedOp,
  ModelFormatError,
  unsupportedOp,
} from './graph.ts';
import { onnxRoot } from './onnx-schema.ts';

/** The three shipped ONNX graphs are 0.2-1.8 MB; anything far larger is not one of them. */
export const MAX_ONNX_BYTES = 64 * 1024 * 1024;

const ModelProto = onnxRoot.lookupType('onnx.ModelProto');

// Decoded message shapes (protobufjs toObject with longs as numbers, bytes as Uint8Array).
interface OnnxTensor {
  name?: string;
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  rawData?: Uint8Array;
  dataLocation?: number;
}
interface OnnxAttribute {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
}
interface OnnxNode {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: OnnxAttribute[];
}
interface OnnxValueInfo {
  name?: string;
  type?: { tensorType?: { shape?: { dim?: { dimValue?: number; dimParam?: string }[] } } };
}
interface OnnxModel {
  graph?: {
    node?: OnnxNode[];
    initializer?: OnnxTensor[];
    input?: OnnxValueInfo[];
    output?: OnnxValueInfo[];
  };
}

const DT_FLOAT = 1;
const DT_INT32 = 6;
const DT_INT64 = 7;
const DT_FLOAT16 = 10;

const BYTES: Record<number, number> = { [DT_FLOAT]: 4, [DT_FLOAT16]: 2, [DT_INT32]: 4, [DT_INT64]: 8 };

function tensorData(t: OnnxTensor, count: number, label: string): Float32Array {
  const bytes = BYTES[t.dataType ?? 0];
  if (!bytes) throw new ModelFormatError(`${label}: tensor "${t.name}" has unsupported data type ${t.dataType}`);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const listed = t.dataType === DT_FLOAT ? t.floatData : t.dataType === DT_INT64 ? t.int64Data : t.int32Data;
  // Checked before allocating: a shape that claims more values than the file holds is refused, not allocated.
  const have = raw ? raw.byteLength / bytes : (listed?.length ?? 0);
  if (have !== count) {
    throw new ModelFormatError(`${label}: tensor "${t.name}" holds ${have} values, its shape needs ${count}`);
  }
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (!view) {
      const v = listed![i]!;
      out[i] = t.dataType === DT_FLOAT16 ? float16ToFloat32(v) : v;
    } else if (t.dataType === DT_FLOAT) out[i] = view.getFloat32(i * 4, true);
    else if (t.dataType === DT_FLOAT16) out[i] = float16ToFloat32(view.getUint16(i * 2, true));
    else if (t.dataType === DT_INT32) out[i] = view.getInt32(i * 4, true);
    else out[i] = Number(view.getBigInt64(i * 8, true));
  }
  return out;
}

function readTensor(t: OnnxTensor, label: string): ConstTensor {
  if (t.dataLocation === 1) throw new ModelFormatError(`${label}: tensor "${t.name}" uses external data`);
  const shape = (t.dims ?? []).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ModelFormatError(`${label}: tensor "${t.name}" has an invalid shape [${shape.join(', ')}]`);
  }
  return { shape, data: tensorData(t, elementCount(shape), label) };
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function readAttribute(a: OnnxAttribute): AttrValue | undefined {
  switch (a.type) {
    case 1:
      return a.f ?? 0;
    case 2:
      return a.i ?? 0;
    case 3:
      return a.s ? utf8.decode(a.s) : '';
    case 6:
      return a.floats ?? [];
    case 7:
      return a.ints ?? [];
    default:
      // Tensor, graph and string-list attributes: none of the implemented ops takes one.
      return undefined;
  }
}

function readNode(n: OnnxNode, index: number, label: string): GraphNode {
  const op = n.opType ?? '';
  const name = n.name || `${op}_${index}`;
  if ((n.domain ?? '') !== '' && n.domain !== 'ai.onnx') {
    throw new ModelFormatError(`${label}: operator "${op}" (node "${name}") is from domain "${n.domain}"`);
  }
  if (!isSupportedOp(op)) throw unsupportedOp(label, op, name);
  const attrs: Record<string, AttrValue> = {};
  for (const a of n.attribute ?? []) {
    const v = readAttribute(a);
    if (a.name && v !== undefined) attrs[a.name] = v;
  }
  return { op, name, inputs: n.input ?? [], outputs: n.output ?? [], attrs };
}

function readInput(v: OnnxValueInfo): GraphInput {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  return { name: v.name ?? '', shape: dims.map((d) => (d.dimValue !== undefined ? Number(d.dimValue) : null)) };
}

function decode(bytes: Uint8Array, label: string): OnnxModel {
  if (bytes.length === 0) throw new ModelFormatError(`${label}: empty file, not an ONNX model`);
  if (bytes.length > MAX_ONNX_BYTES) {
    throw new ModelFormatError(`${label}: ${bytes.length} bytes is larger than the ${MAX_ONNX_BYTES} byte limit`);
  }
  try {
    const message = ModelProto.decode(bytes);
    return ModelProto.toObject(message, { longs: Number, arrays: true }) as OnnxModel;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ModelFormatError(`${label}: not a readable ONNX model (truncated or corrupt: ${why})`);
  }
}

/** Parses ONNX bytes; `label` (usually the file path) starts every error message. */
export function readOnnx(bytes: Uint8Array, label: string): Graph {
  const model = decode(bytes, label);
  const g = model.graph;
  if (!g?.node || g.node.length === 0) throw new ModelFormatError(`${label}: not an ONNX model (no graph)`);
  const constants = new Map<string, ConstTensor>();
  for (const t of g.initializer ?? []) constants.set(t.name ?? '', readTensor(t, label));
  const nodes = g.node.map((n, i) => readNode(n, i, label));
  const graph: Graph = {
    format: 'onnx',
    inputs: (g.input ?? []).filter((v) => !constants.has(v.name ?? '')).map(readInput),
    outputs: (g.output ?? []).map((v) => v.name ?? ''),
    nodes,
    constants,
  };
  checkGraph(graph, label);
  return graph;
}
