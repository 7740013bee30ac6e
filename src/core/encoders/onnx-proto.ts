/**
 * The external data files an ONNX model references, read from its protobuf without a full decoder:
 * every TensorProto (graph initializers, sparse initializers, Constant-node attributes, subgraphs)
 * whose `data_location` is EXTERNAL or whose `external_data` entries name a `location`.
 * Large payloads (raw_data) are skipped, not copied, so scanning a model with embedded weights costs
 * one pass over its field headers.
 *
 * Field numbers (onnx.proto3): ModelProto.graph 7; GraphProto.node 1, initializer 5,
 * sparse_initializer 15; NodeProto.attribute 5; AttributeProto.t 5, g 6, tensors 10, graphs 11,
 * sparse_tensor 22, sparse_tensors 23; SparseTensorProto.values 1, indices 2;
 * TensorProto.external_data 13 (StringStringEntryProto key 1, value 2), data_location 14.
 */

export class OnnxProtoError extends Error {
  override name = "OnnxProtoError";
}

type Kind = "model" | "graph" | "node" | "attribute" | "sparse" | "tensor" | "entry";

/** Message-typed fields to descend into, per message kind. */
const CHILDREN: Record<Kind, Record<number, Kind>> = {
  model: { 7: "graph" },
  graph: { 1: "node", 5: "tensor", 15: "sparse" },
  node: { 5: "attribute" },
  attribute: { 5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse" },
  sparse: { 1: "tensor", 2: "tensor" },
  tensor: { 13: "entry" },
  entry: {},
};

const EXTERNAL = 1;
const utf8 = new TextDecoder();

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new OnnxProtoError("truncated varint");
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * scale;
      if (!(b & 0x80)) return result;
      scale *= 128;
    }
    throw new OnnxProtoError("varint longer than 10 bytes");
  }

  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new OnnxProtoError("field runs past the end of its message");
    this.pos += n;
  }
}

interface TensorInfo {
  location?: string;
  external: boolean;
}

function scan(r: Reader, kind: Kind, out: Set<string>, depth: number, tensor?: TensorInfo): void {
  if (depth > 64) throw new OnnxProtoError("messages nested too deeply");
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const v = r.varint();
      if (kind === "tensor" && field === 14 && tensor) tensor.external = v === EXTERNAL;
    } else if (wire === 1) r.skip(8);
    else if (wire === 5) r.skip(4);
    else if (wire === 2) {
      const len = r.varint();
      const start = r.pos;
      r.skip(len);
      const child = CHILDREN[kind][field];
      if (child === "tensor") {
        const info: TensorInfo = { external: false };
        scan(new Reader(r.bytes, start, start + len), "tensor", out, depth + 1, info);
        if (info.external && !info.location) throw new OnnxProtoError("a tensor stored externally names no location");
        if (info.external && info.location) out.add(info.location);
      } else if (child === "entry") {
        const entry = { key: "", value: "" };
        const sub = new Reader(r.bytes, start, start + len);
        scanEntry(sub, entry);
        if (entry.key === "location" && tensor) tensor.location = entry.value;
      } else if (child) scan(new Reader(r.bytes, start, start + len), child, out, depth + 1);
    } else throw new OnnxProtoError(`unsupported protobuf wire type ${wire}`);
  }
}

function scanEntry(r: Reader, entry: { key: string; value: string }): void {
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire !== 2) {
      if (wire === 0) r.varint();
      else if (wire === 1) r.skip(8);
      else if (wire === 5) r.skip(4);
      else throw new OnnxProtoError(`unsupported protobuf wire type ${wire}`);
      continue;
    }
    const len = r.varint();
    const start = r.pos;
    r.skip(len);
    const s = utf8.decode(r.bytes.subarray(start, start + len));
    if (field === 1) entry.key = s;
    else if (field === 2) entry.value = s;
  }
}

/** File names (relative to the model file) of the external data the model's tensors live in. */
export function externalDataFiles(model: Uint8Array): string[] {
  const out = new Set<string>();
  try {
    scan(new Reader(model, 0, model.length), "model", out, 0);
  } catch (e) {
    if (e instanceof OnnxProtoError) throw new OnnxProtoError(`not a readable ONNX model: ${e.message}`);
    throw e;
  }
  return [...out].sort();
}
