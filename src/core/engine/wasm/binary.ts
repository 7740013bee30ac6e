/**
 * Just enough of the WebAssembly binary format to write the CPU engine's SIMD kernels in
 * TypeScript: one module with one exported memory and exported functions of i32 parameters.
 * Spec: https://webassembly.github.io/spec/core/binary/ (sections, LEB128, SIMD opcodes 0xfd).
 */

export type Bytes = number[];

export const uleb = (value: number): Bytes => {
  const out: Bytes = [];
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
  return out;
};

export const sleb = (value: number): Bytes => {
  const out: Bytes = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
};

const name = (s: string): Bytes => {
  const utf8 = [...new TextEncoder().encode(s)];
  return [...uleb(utf8.length), ...utf8];
};
const vec = (items: Bytes[]): Bytes => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: Bytes): Bytes => [id, ...uleb(body.length), ...body];

export const I32 = 0x7f;
export const V128 = 0x7b;

/** Instructions, each a byte sequence. Memory accesses take a byte offset and assume natural alignment. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number): Bytes => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Bytes => [0x0d, ...uleb(depth)],
  get: (local: number): Bytes => [0x20, ...uleb(local)],
  set: (local: number): Bytes => [0x21, ...uleb(local)],
  i32: (value: number): Bytes => [0x41, ...sleb(value)],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  i32GeU: [0x4f],
  v128Load: (offset = 0): Bytes => [0xfd, ...uleb(0x00), 4, ...uleb(offset)],
  v128Load32Splat: (offset = 0): Bytes => [0xfd, ...uleb(0x09), 2, ...uleb(offset)],
  v128Store: (offset = 0): Bytes => [0xfd, ...uleb(0x0b), 4, ...uleb(offset)],
  v128Zero: [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
};

export interface WasmFunction {
  name: string;
  params: number;
  /** Extra locals by type, numbered after the parameters in this order. */
  locals: { type: number; count: number }[];
  body: Bytes[];
}

/** A module exporting `memory` (initially `pages` × 64 KiB) and `functions` (i32 params, no result). */
export function wasmModule(functions: WasmFunction[], pages = 1): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vec(new Array(f.params).fill([I32])), 0]);
  const code = functions.map((f) => {
    const body = [...vec(f.locals.map((l) => [...uleb(l.count), l.type])), ...f.body.flat(), ...op.end];
    return [...uleb(body.length), ...body];
  });
  const exports = [[...name("memory"), 0x02, 0], ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(7, vec(exports)),
    ...section(10, vec(code)),
  ]);
}
