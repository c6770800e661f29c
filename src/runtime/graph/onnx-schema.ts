/**
 * The part of ONNX's `onnx.proto` (proto2, package `onnx`) that the ONNX reader needs, as a protobufjs JSON
 * descriptor: field names and numbers are the wire format of the ONNX specification. Fields left out (docs,
 * metadata, training info, sparse tensors, sub-graphs) are skipped by protobufjs as unknown fields.
 */
import protobuf from 'protobufjs';

const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const optional = (type: string, id: number) => ({ type, id });

export const onnxRoot = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: optional('int64', 1),
            producerName: optional('string', 2),
            graph: optional('GraphProto', 7),
            opsetImport: repeated('OperatorSetIdProto', 8),
          },
        },
        OperatorSetIdProto: { fields: { domain: optional('string', 1), version: optional('int64', 2) } },
        GraphProto: {
          fields: {
            node: repeated('NodeProto', 1),
            name: optional('string', 2),
            initializer: repeated('TensorProto', 5),
            input: repeated('ValueInfoProto', 11),
            output: repeated('ValueInfoProto', 12),
          },
        },
        NodeProto: {
          fields: {
            input: repeated('string', 1),
            output: repeated('string', 2),
            name: optional('string', 3),
            opType: optional('string', 4),
            attribute: repeated('AttributeProto', 5),
            domain: optional('string', 7),
          },
        },
        AttributeProto: {
          fields: {
            name: optional('string', 1),
            f: optional('float', 2),
            i: optional('int64', 3),
            s: optional('bytes', 4),
            t: optional('TensorProto', 5),
            floats: { rule: 'repeated', type: 'float', id: 7, options: { packed: false } },
            ints: { rule: 'repeated', type: 'int64', id: 8, options: { packed: false } },
            type: optional('int32', 20),
          },
        },
        ValueInfoProto: { fields: { name: optional('string', 1), type: optional('TypeProto', 2) } },
        TypeProto: {
          fields: { tensorType: optional('TypeTensor', 1) },
        },
        TypeTensor: { fields: { elemType: optional('int32', 1), shape: optional('TensorShapeProto', 2) } },
        TensorShapeProto: { fields: { dim: repeated('Dimension', 1) } },
        Dimension: { fields: { dimValue: optional('int64', 1), dimParam: optional('string', 2) } },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1, options: { packed: false } },
            dataType: optional('int32', 2),
            floatData: { rule: 'repeated', type: 'float', id: 4, options: { packed: true } },
            int32Data: { rule: 'repeated', type: 'int32', id: 5, options: { packed: true } },
            int64Data: { rule: 'repeated', type: 'int64', id: 7, options: { packed: true } },
            name: optional('string', 8),
            rawData: optional('bytes', 9),
            dataLocation: optional('int32', 14),
          },
        },
      },
    },
  },
});
