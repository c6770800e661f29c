/**
 * Reads an OpenVINO IR v11 model — the XML graph (parsed by fast-xml-parser) and its .bin weights — into the
 * executor's graph representation. Const layers are read from the .bin by offset/size with bounds checks, FP16
 * widened to float32, and Const → Convert chains folded, all once at load. OpenVINO op names are mapped onto the
 * ONNX-style ops the executor implements; any other layer type is refused, naming it.
 */
import { XMLParser } from 'fast-xml-parser';
import { float16ArrayToFloat32 } from './float16.ts';
import {
  type AttrValue,
  type ConstTensor,
  checkGraph,
  elementCount,
  type Graph,
  type GraphNode,
  ModelFormatError,
  type OpType,
  unsupportedOp,
} from './graph.ts';

export const MAX_IR_XML_BYTES = 16 * 1024 * 1024;
export const MAX_IR_BIN_BYTES = 256 * 1024 * 1024;

interface XmlPort {
  '@_id': string;
}
interface XmlLayer {
  '@_id': string;
  '@_name'?: string;
  '@_type': string;
  data?: Record<string, string>;
  input?: { port?: XmlPort[] };
  output?: { port?: XmlPort[] };
}
interface XmlEdge {
  '@_from-layer': string;
  '@_from-port': string;
  '@_to-layer': string;
  '@_to-port': string;
}
interface XmlDoc {
  net?: { '@_version'?: string; layers?: { layer?: XmlLayer[] }; edges?: { edge?: XmlEdge[] } };
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  processEntities: false,
  isArray: (tag) => tag === 'layer' || tag === 'port' || tag === 'edge',
});

/** IR layer types that become executor ops (Parameter, Const, Convert and Result are handled by the reader). */
const OP_OF: Record<string, OpType> = {
  Add: 'Add',
  AvgPool: 'AveragePool',
  Convolution: 'Conv',
  GroupConvolution: 'Conv',
  Multiply: 'Mul',
  PReLU: 'PRelu',
  Sigmoid: 'Sigmoid',
};

const ELEMENT_BYTES: Record<string, number> = { f16: 2, f32: 4, i32: 4, i64: 8 };

const ints = (s: string | undefined): number[] =>
  s === undefined || s.trim() === '' ? [] : s.split(',').map((x) => Number(x.trim()));

function parse(xml: Uint8Array, label: string): XmlDoc {
  if (xml.length === 0) throw new ModelFormatError(`${label}: empty file, not an OpenVINO IR`);
  if (xml.length > MAX_IR_XML_BYTES) {
    throw new ModelFormatError(`${label}: ${xml.length} bytes is larger than the ${MAX_IR_XML_BYTES} byte limit`);
  }
  try {
    return parser.parse(Buffer.from(xml.buffer, xml.byteOffset, xml.byteLength)) as XmlDoc;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ModelFormatError(`${label}: not a readable OpenVINO IR XML (${why})`);
  }
}

function readConst(layer: XmlLayer, bin: Uint8Array, label: string): ConstTensor {
  const d = layer.data ?? {};
  const type = d['@_element_type'] ?? '';
  const bytes = ELEMENT_BYTES[type];
  const shape = ints(d['@_shape']);
  const offset = Number(d['@_offset']);
  const size = Number(d['@_size']);
  const where = `${label}: Const "${layer['@_name']}"`;
  if (!bytes) throw new ModelFormatError(`${where} has unsupported element type "${type}"`);
  if (shape.some((x) => !Number.isInteger(x) || x < 0)) throw new ModelFormatError(`${where} has an invalid shape`);
  const count = elementCount(shape);
  if (!Number.isInteger(offset) || offset < 0 || size !== count * bytes || offset + size > bin.length) {
    throw new ModelFormatError(`${where}: bytes ${offset}+${size} do not fit its shape or the .bin (truncated?)`);
  }
  if (type === 'f16') return { shape, data: float16ArrayToFloat32(bin, offset, count) };
  const view = new DataView(bin.buffer, bin.byteOffset + offset, size);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    data[i] =
      type === 'f32'
        ? view.getFloat32(i * 4, true)
        : type === 'i32'
          ? view.getInt32(i * 4, true)
          : Number(view.getBigInt64(i * 8, true));
  }
  return { shape, data };
}

function topologicalOrder(layers: XmlLayer[], producers: Map<string, string>, label: string): XmlLayer[] {
  const byId = new Map(layers.map((l) => [l['@_id'], l]));
  const pending = new Map<string, number>();
  const consumers = new Map<string, string[]>();
  for (const l of layers) pending.set(l['@_id'], 0);
  for (const [to, from] of producers) {
    const toLayer = to.split(':')[0]!;
    const fromLayer = from.split(':')[0]!;
    if (!byId.has(toLayer) || !byId.has(fromLayer)) {
      throw new ModelFormatError(`${label}: an edge joins layer ${fromLayer} to ${toLayer}, which do not both exist`);
    }
    pending.set(toLayer, pending.get(toLayer)! + 1);
    consumers.set(fromLayer, [...(consumers.get(fromLayer) ?? []), toLayer]);
  }
  const ready = layers.filter((l) => pending.get(l['@_id']) === 0).map((l) => l['@_id']);
  const order: XmlLayer[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(byId.get(id)!);
    for (const next of consumers.get(id) ?? []) {
      const left = pending.get(next)! - 1;
      pending.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (order.length !== layers.length) throw new ModelFormatError(`${label}: the graph has a cycle`);
  return order;
}

function attrsOf(layer: XmlLayer, type: string, label: string): Record<string, AttrValue> {
  const d = layer.data ?? {};
  const where = `${label}: ${type} "${layer['@_name']}"`;
  if (type === 'Add' || type === 'Multiply') {
    if ((d['@_auto_broadcast'] ?? 'numpy') !== 'numpy') throw new ModelFormatError(`${where}: non-numpy broadcast`);
    return {};
  }
  if (type === 'Convolution' || type === 'GroupConvolution' || type === 'AvgPool') {
    const autoPad = d['@_auto_pad'] ?? 'explicit';
    if (autoPad !== 'explicit' && autoPad !== 'notset') throw new ModelFormatError(`${where}: auto_pad ${autoPad}`);
    const pads = [...ints(d['@_pads_begin']), ...ints(d['@_pads_end'])];
    const attrs: Record<string, AttrValue> = { strides: ints(d['@_strides']), pads };
    if (type === 'AvgPool') {
      if ((d['@_rounding_type'] ?? 'floor') !== 'floor') throw new ModelFormatError(`${where}: ceil rounding`);
      attrs.kernel_shape = ints(d['@_kernel']);
      attrs.count_include_pad = d['@_exclude-pad'] === 'true' ? 0 : 1;
    } else {
      attrs.dilations = ints(d['@_dilations']);
    }
    return attrs;
  }
  return {};
}

/**
 * GroupConvolution weights are [G, O/G, I/G, kh, kw]; the same bytes read as [O, I/G, kh, kw] are ONNX's grouped
 * Conv weight. Returns the group count.
 */
function regroupWeights(constants: Map<string, ConstTensor>, name: string, where: string): number {
  const w = constants.get(name);
  if (w?.shape.length !== 5) throw new ModelFormatError(`${where}: weights are not a constant [G,O,I,kh,kw]`);
  const [g, o, i, kh, kw] = w.shape as [number, number, number, number, number];
  constants.set(name, { shape: [g * o, i, kh, kw], data: w.data });
  return g;
}

/** OpenVINO applies a 1-D PReLU slope of length C along axis 1; ONNX-style broadcasting needs it as [C, 1, 1]. */
function channelSlope(constants: Map<string, ConstTensor>, name: string): void {
  const slope = constants.get(name);
  if (slope && slope.shape.length === 1 && slope.shape[0]! > 1) {
    constants.set(name, { shape: [slope.shape[0]!, 1, 1], data: slope.data });
  }
}

/** Parses an IR's XML and .bin; `label` (usually the XML path) starts every error message. */
export function readIr(xml: Uint8Array, bin: Uint8Array, label: string): Graph {
  if (bin.length > MAX_IR_BIN_BYTES) throw new ModelFormatError(`${label}: .bin larger than ${MAX_IR_BIN_BYTES}`);
  const net = parse(xml, label).net;
  if (!net?.layers?.layer) throw new ModelFormatError(`${label}: not an OpenVINO IR (no <net><layers>)`);
  if (net['@_version'] !== '11') {
    throw new ModelFormatError(`${label}: IR version ${net['@_version']} (only version 11 is read)`);
  }
  const producers = new Map<string, string>();
  for (const e of net.edges?.edge ?? []) {
    const to = `${e['@_to-layer']}:${e['@_to-port']}`;
    if (producers.has(to)) throw new ModelFormatError(`${label}: port ${to} has two incoming edges`);
    producers.set(to, `${e['@_from-layer']}:${e['@_from-port']}`);
  }
  const graph: Graph = { format: 'openvino-ir', inputs: [], outputs: [], nodes: [], constants: new Map() };
  for (const layer of topologicalOrder(net.layers.layer, producers, label)) {
    const id = layer['@_id'];
    const type = layer['@_type'];
    const name = layer['@_name'] ?? id;
    const inputs = (layer.input?.port ?? []).map((p) => {
      const from = producers.get(`${id}:${p['@_id']}`);
      if (!from) throw new ModelFormatError(`${label}: input ${p['@_id']} of layer "${name}" is not connected`);
      return from;
    });
    const outputs = (layer.output?.port ?? []).map((p) => `${id}:${p['@_id']}`);
    if (type === 'Parameter') {
      graph.inputs.push({ name: outputs[0] ?? '', shape: ints(layer.data?.['@_shape']) });
    } else if (type === 'Const') {
      graph.constants.set(outputs[0] ?? '', readConst(layer, bin, label));
    } else if (type === 'Convert') {
      // Decompression of constant weights (FP16 → FP32): already widened, so the output aliases the input.
      const source = graph.constants.get(inputs[0] ?? '');
      if (!source || layer.data?.['@_destination_type'] !== 'f32') {
        throw new ModelFormatError(`${label}: Convert "${name}" is not a constant widening to f32`);
      }
      graph.constants.set(outputs[0] ?? '', source);
    } else if (type === 'Result') {
      graph.outputs.push(inputs[0] ?? '');
    } else {
      const op = OP_OF[type];
      if (!op) throw unsupportedOp(label, type, name);
      const node: GraphNode = { op, name, inputs, outputs, attrs: attrsOf(layer, type, label) };
      if (type === 'GroupConvolution') node.attrs.group = regroupWeights(graph.constants, inputs[1] ?? '', name);
      if (type === 'PReLU') channelSlope(graph.constants, inputs[1] ?? '');
      graph.nodes.push(node);
    }
  }
  checkGraph(graph, label);
  return graph;
}
