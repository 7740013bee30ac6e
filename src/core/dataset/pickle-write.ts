/**
 * The pickle writer for `patch_quality.pkl` (docs/official-layout.md). It emits protocol 3, the
 * lowest with a bytes opcode (at protocol 2 Python 3 bytes become `_codecs.encode(str, "latin1")`
 * calls), and arrays as `numpy.core.multiarray._reconstruct` plus a BUILD state, which is how numpy
 * pickles them and what both numpy 1.x and 2.x load (numpy 2 keeps that name for old pickles).
 */
import { NdArray, OP, type PickleKey } from "./pickle";

/** What the writer accepts. */
export type PickleWritable = null | boolean | number | string | NdArray | Map<PickleKey, PickleWritable>;

/** Pickles `value` at protocol 3. */
export function writePickle(value: PickleWritable): Uint8Array {
  const chunks: Uint8Array[] = [];
  const memo = new Map<string, number>();
  const emit = (...b: number[]) => chunks.push(Uint8Array.from(b));
  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    return [...b];
  };
  const blob = (opShort: number, opLong: number, b: Uint8Array) => {
    if (b.length < 256) emit(opShort, b.length);
    else emit(opLong, ...u32(b.length));
    chunks.push(b);
  };
  /** Emits the object under `key` once; later uses fetch it from the memo (a few globals and the dtype, so one-byte slots). */
  const once = (key: string, write: () => void) => {
    const slot = memo.get(key);
    if (slot !== undefined) {
      emit(OP.BINGET, slot);
      return;
    }
    write();
    memo.set(key, memo.size);
    emit(OP.BINPUT, memo.size - 1);
  };
  const global = (module: string, name: string) =>
    once(`${module}.${name}`, () => {
      emit(OP.GLOBAL);
      chunks.push(new TextEncoder().encode(`${module}\n${name}\n`));
    });
  const tuple = (items: (() => void)[]) => {
    if (items.length > 3) emit(OP.MARK);
    for (const item of items) item();
    emit(items.length === 0 ? OP.EMPTY_TUPLE : items.length <= 3 ? OP.TUPLE1 + items.length - 1 : OP.TUPLE);
  };
  const int = (n: number) => {
    if (!Number.isSafeInteger(n)) throw new RangeError(`cannot pickle integer ${n}`);
    if (n >= 0 && n < 256) emit(OP.BININT1, n);
    else if (n >= 0 && n < 65536) emit(OP.BININT2, n & 255, n >> 8);
    else if (n >= -(2 ** 31) && n < 2 ** 31) emit(OP.BININT, ...u32(n >>> 0));
    else {
      // LONG1: little-endian two's complement, as short as the sign allows (uint32 seeds need it).
      const b: number[] = [];
      let v = BigInt(n);
      do {
        b.push(Number(v & 255n));
        v >>= 8n;
      } while (!((v === 0n && b[b.length - 1] < 128) || (v === -1n && b[b.length - 1] >= 128)));
      emit(OP.LONG1, b.length, ...b);
    }
  };
  const array = (a: NdArray) => {
    const count = a.shape.reduce((x, y) => x * y, 1);
    if (count !== a.data.length) throw new RangeError(`array of shape ${a.shape} has ${a.data.length} values`);
    global("numpy.core.multiarray", "_reconstruct");
    tuple([
      () => global("numpy", "ndarray"),
      () => tuple([() => int(0)]),
      () => blob(OP.SHORT_BINBYTES, OP.BINBYTES, Uint8Array.of(0x62)),
    ]);
    emit(OP.REDUCE);
    const raw = new Uint8Array(count * 4);
    const dv = new DataView(raw.buffer);
    for (let i = 0; i < count; i++) dv.setFloat32(i * 4, a.data[i], true);
    tuple([
      () => int(1),
      () => tuple(a.shape.map((n) => () => int(n))),
      () =>
        once("dtype f4", () => {
          global("numpy", "dtype");
          tuple([() => put("f4"), () => put(false), () => put(true)]);
          emit(OP.REDUCE);
          tuple([3, "<", null, null, null, -1, -1, 0].map((v) => () => put(v)));
          emit(OP.BUILD);
        }),
      () => put(false),
      () => blob(OP.SHORT_BINBYTES, OP.BINBYTES, raw),
    ]);
    emit(OP.BUILD);
  };
  const put = (v: PickleWritable) => {
    if (v === null) emit(OP.NONE);
    else if (typeof v === "boolean") emit(v ? OP.NEWTRUE : OP.NEWFALSE);
    else if (typeof v === "number") {
      if (Number.isInteger(v)) int(v);
      else {
        emit(OP.BINFLOAT);
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, v, false);
        chunks.push(b);
      }
    } else if (typeof v === "string") {
      const b = new TextEncoder().encode(v);
      emit(OP.BINUNICODE, ...u32(b.length));
      chunks.push(b);
    } else if (v instanceof NdArray) array(v);
    else {
      emit(OP.EMPTY_DICT);
      const entries = [...v];
      // Python batches SETITEMS by 1000 pairs; any batch size loads the same.
      for (let i = 0; i < entries.length; i += 1000) {
        emit(OP.MARK);
        for (const [k, x] of entries.slice(i, i + 1000)) {
          put(k);
          put(x);
        }
        emit(OP.SETITEMS);
      }
    }
  };
  emit(OP.PROTO, 3);
  put(value);
  emit(OP.STOP);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
