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

/** A graph initializer stored in the file (raw_data): where its payload lies, to rewrite it in place. */
export interface InitializerPayload {
  name: string;
  dims: number[];
  /** TensorProto.DataType (1 = float32). */
  dataType: number;
  /** Byte range of raw_data within the model. */
  offset: number;
  length: number;
}

/**
 * The main graph's initializers that carry their values in raw_data (TensorProto fields: dims 1,
 * data_type 2, name 8, raw_data 9). Initializers stored otherwise (external, typed fields) are
 * left out.
 */
export function initializerPayloads(model: Uint8Array): InitializerPayload[] {
  const out: InitializerPayload[] = [];
  const fields = (r: Reader, visit: (field: number, wire: number, start: number, len: number) => void) => {
    while (r.pos < r.end) {
      const tag = r.varint();
      const [field, wire] = [Math.floor(tag / 8), tag % 8];
      if (wire === 0) visit(field, wire, r.varint(), 0);
      else if (wire === 1) r.skip(8);
      else if (wire === 5) r.skip(4);
      else if (wire === 2) {
        const len = r.varint();
        const start = r.pos;
        r.skip(len);
        visit(field, wire, start, len);
      } else throw new OnnxProtoError(`unsupported protobuf wire type ${wire}`);
    }
  };
  try {
    fields(new Reader(model, 0, model.length), (field, wire, start, len) => {
      if (field !== 7 || wire !== 2) return;
      fields(new Reader(model, start, start + len), (gField, gWire, tStart, tLen) => {
        if (gField !== 5 || gWire !== 2) return;
        const t: InitializerPayload = { name: "", dims: [], dataType: 0, offset: -1, length: 0 };
        fields(new Reader(model, tStart, tStart + tLen), (f, w, value, n) => {
          if (f === 1 && w === 0) t.dims.push(value);
          else if (f === 1 && w === 2) {
            const packed = new Reader(model, value, value + n);
            while (packed.pos < packed.end) t.dims.push(packed.varint());
          } else if (f === 2 && w === 0) t.dataType = value;
          else if (f === 8 && w === 2) t.name = utf8.decode(model.subarray(value, value + n));
          else if (f === 9 && w === 2) [t.offset, t.length] = [value, n];
        });
        if (t.offset >= 0) out.push(t);
      });
    });
  } catch (e) {
    if (e instanceof OnnxProtoError) throw new OnnxProtoError(`not a readable ONNX model: ${e.message}`);
    throw e;
  }
  return out;
}
