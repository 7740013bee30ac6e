/**
 * safetensors reader and writer: u64 little-endian header length, JSON header, raw tensor data.
 * No maintained npm parser exists; the format is small enough to implement here.
 */

export type DType = "F32" | "I64" | "I32" | "U8";
export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export interface SafeTensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<DType, number> = { F32: 4, I64: 8, I32: 4, U8: 1 };

function view(dtype: DType, bytes: Uint8Array, offset: number, count: number): TensorData {
  // Copy so the tensor is aligned whatever the header length and the input's byteOffset were. The
  // view is a plain Uint8Array: a Node Buffer's slice() would share memory instead of copying.
  const copy = new Uint8Array(bytes.buffer, bytes.byteOffset + offset, count * BYTES[dtype]).slice().buffer;
  if (dtype === "F32") return new Float32Array(copy);
  if (dtype === "I64") return new BigInt64Array(copy);
  if (dtype === "U8") return new Uint8Array(copy);
  return new Int32Array(copy);
}

/** Parses a whole file's bytes; the tensors are copies, so `bytes` may be a view into a larger buffer. */
export function parseSafetensors(bytes: Uint8Array, source = "safetensors"): SafeTensors {
  if (bytes.byteLength < 8) throw new Error(`${source}: file too short for a safetensors header`);
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  if (8 + headerLen > bytes.byteLength) throw new Error(`${source}: header length ${headerLen} exceeds file size`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new Error(`${source}: header is not valid JSON (${(e as Error).message})`);
  }
  const base = 8 + headerLen;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as { dtype: DType; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) throw new Error(`${source}: tensor ${name} has unsupported dtype ${dtype}`);
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = data_offsets;
    if (end - begin !== count * BYTES[dtype] || base + end > bytes.byteLength) {
      throw new Error(`${source}: tensor ${name} has data offsets that do not match shape ${JSON.stringify(shape)}`);
    }
    tensors.set(name, { dtype, shape, data: view(dtype, bytes, base + begin, count) });
  }
  return { tensors, metadata };
}

export function serializeSafetensors(tensors: Map<string, Tensor>, metadata?: Record<string, string>): ArrayBuffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of tensors) {
    const len = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out.buffer;
}
