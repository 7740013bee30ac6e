/**
 * The part of Python's pickle format that the official PatchDPO code's `patch_quality.pkl` needs
 * (docs/official-layout.md): nested dicts with int and str keys holding numpy float arrays.
 *
 * The reader is a small stack machine over the opcodes Python's `pickle.dump` emits for such data
 * at protocols 2–5, with numpy 1.x (`numpy.core`) or 2.x (`numpy._core`). It never calls anything:
 * the only globals it accepts are the numpy array and dtype constructors and `_codecs.encode`,
 * which it rebuilds itself; any other global or opcode fails with its name.
 *
 * The writer is pickle-write.ts.
 */

/** A numpy array, values as float32 in C (row-major) order. */
export class NdArray {
  constructor(
    public shape: number[],
    public data: Float32Array,
  ) {}
}

export type PickleKey = number | string;
/** What the reader returns; tuples and lists both read as arrays. */
export type PickleValue = null | boolean | number | string | Uint8Array | NdArray | PickleValue[] | PickleDict;
export type PickleDict = Map<PickleKey, PickleValue>;

export class PickleError extends Error {
  constructor(source: string, problem: string) {
    super(`${source}: ${problem}`);
    this.name = "PickleError";
  }
}

/** Every pickle opcode (pickletools' names): the reader's and writer's codes, and names for errors. */
// biome-ignore format: a table reads better packed
export const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, FLOAT: 0x46, INT: 0x49, BININT: 0x4a,
  BININT1: 0x4b, LONG: 0x4c, BININT2: 0x4d, NONE: 0x4e, PERSID: 0x50, BINPERSID: 0x51, REDUCE: 0x52,
  STRING: 0x53, BINSTRING: 0x54, SHORT_BINSTRING: 0x55, UNICODE: 0x56, BINUNICODE: 0x58, APPEND: 0x61,
  BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64, EMPTY_DICT: 0x7d, APPENDS: 0x65, GET: 0x67, BINGET: 0x68,
  INST: 0x69, LONG_BINGET: 0x6a, LIST: 0x6c, EMPTY_LIST: 0x5d, OBJ: 0x6f, PUT: 0x70, BINPUT: 0x71,
  LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, EMPTY_TUPLE: 0x29, SETITEMS: 0x75, BINFLOAT: 0x47,
  PROTO: 0x80, NEWOBJ: 0x81, EXT1: 0x82, EXT2: 0x83, EXT4: 0x84, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b, BINBYTES: 0x42, SHORT_BINBYTES: 0x43,
  SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f, ADDITEMS: 0x90,
  FROZENSET: 0x91, NEWOBJ_EX: 0x92, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95, BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98,
} as const;
const OPCODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(OP).map(([name, code]) => [code, name]));

const RECONSTRUCT = ["numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"];
const FROMBUFFER = ["numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer"];
const GLOBALS = new Set([...RECONSTRUCT, ...FROMBUFFER, "numpy.ndarray", "numpy.dtype", "_codecs.encode"]);

/** A global the stream named; REDUCE rebuilds what it stands for. */
class Global {
  constructor(readonly path: string) {}
}
/** A numpy dtype: its kind and size code (`f4`) and, after BUILD, its byte order. */
class DType {
  order = "<";
  constructor(readonly code: string) {}
}
type Item = PickleValue | Global | DType | Item[];

/** Float dtypes the reader converts to float32 (f8 rounds; maps are float32 in the studio). */
const ITEM_SIZE: Record<string, number> = { f2: 2, f4: 4, f8: 8 };

function half(bits: number): number {
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/**
 * Parses a pickle of dicts, lists, tuples, ints, floats, strings, bytes and numpy float arrays;
 * throws PickleError naming the opcode or global it does not support.
 */
export function readPickle(bytes: Uint8Array, source = "pickle"): PickleValue {
  const fail = (problem: string): never => {
    throw new PickleError(source, problem);
  };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder();
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) fail(`truncated at byte ${at}: ${n} more bytes needed`);
    const start = at;
    at += n;
    return start;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => dv.getUint16(need(2), true);
  const i32 = () => dv.getInt32(need(4), true);
  const u32 = () => dv.getUint32(need(4), true);
  const u64 = () => {
    const n = dv.getBigUint64(need(8), true);
    return n <= BigInt(bytes.length) ? Number(n) : fail(`length ${n} at byte ${at - 8} exceeds the file`);
  };
  const take = (n: number) => bytes.slice(need(n), at);
  const line = () => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail(`truncated at byte ${at}: no end of line`);
    const text = utf8.decode(bytes.subarray(at, end));
    at = end + 1;
    return text;
  };

  const stack: Item[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Item>();
  const pop = (): Item => (stack.length ? (stack.pop() as Item) : fail(`stack underflow at byte ${at - 1}`));
  const top = (): Item => (stack.length ? stack[stack.length - 1] : fail(`stack underflow at byte ${at - 1}`));
  const popMark = (): Item[] => {
    const m = marks.pop();
    return m === undefined ? fail(`no MARK before byte ${at - 1}`) : stack.splice(m);
  };
  const get = (i: number) => (memo.has(i) ? (memo.get(i) as Item) : fail(`memo ${i} read before it was written`));
  const dict = (): PickleDict => {
    const d = top();
    return d instanceof Map ? d : fail(`SETITEM on a ${typeName(d)} at byte ${at - 1}`);
  };
  const list = (): PickleValue[] => {
    const l = top();
    return Array.isArray(l) ? (l as PickleValue[]) : fail(`APPEND on a ${typeName(l)} at byte ${at - 1}`);
  };
  const setItems = (d: PickleDict, items: Item[]) => {
    for (let k = 0; k < items.length; k += 2) {
      const key = items[k];
      if (typeof key !== "number" && typeof key !== "string")
        fail(`dict key of type ${typeName(key)} is not supported`);
      d.set(key as PickleKey, plain(items[k + 1], source));
    }
  };
  const int = (n: bigint) =>
    n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(n)
      : fail(`integer ${n} is too large`);
  const global = (path: string) => (GLOBALS.has(path) ? new Global(path) : fail(`global ${path} is not supported`));

  for (;;) {
    const pos = at;
    const code = u8();
    switch (code) {
      case OP.PROTO:
        u8();
        break;
      case OP.FRAME:
        u64(); // frames only batch reads; the opcodes inside are parsed as usual
        break;
      case OP.STOP:
        if (stack.length !== 1) fail(`STOP with ${stack.length} items on the stack`);
        return plain(stack[0], source);
      case OP.MARK:
        marks.push(stack.length);
        break;
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        stack.push(top());
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINPUT:
        memo.set(u8(), top());
        break;
      case OP.LONG_BINPUT:
        memo.set(u32(), top());
        break;
      case OP.BINGET:
        stack.push(get(u8()));
        break;
      case OP.LONG_BINGET:
        stack.push(get(u32()));
        break;
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.BININT1:
        stack.push(u8());
        break;
      case OP.BININT2:
        stack.push(u16());
        break;
      case OP.BININT:
        stack.push(i32());
        break;
      case OP.LONG1: {
        const b = take(u8());
        let n = 0n;
        for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
        if (b.length && b[b.length - 1] & 0x80) n -= 1n << BigInt(8 * b.length);
        stack.push(int(n));
        break;
      }
      case OP.BINFLOAT:
        stack.push(dv.getFloat64(need(8), false));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(utf8.decode(take(u8())));
        break;
      case OP.BINUNICODE:
        stack.push(utf8.decode(take(u32())));
        break;
      case OP.BINUNICODE8:
        stack.push(utf8.decode(take(u64())));
        break;
      case OP.SHORT_BINBYTES:
        stack.push(take(u8()));
        break;
      case OP.BINBYTES:
        stack.push(take(u32()));
        break;
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        stack.push(take(u64()));
        break;
      case OP.EMPTY_DICT:
        stack.push(new Map());
        break;
      case OP.DICT: {
        const d: PickleDict = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case OP.SETITEM: {
        const value = pop();
        const key = pop();
        setItems(dict(), [key, value]);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        setItems(dict(), items);
        break;
      }
      case OP.EMPTY_LIST:
        stack.push([]);
        break;
      case OP.LIST:
        stack.push(popMark().map((v) => plain(v, source)));
        break;
      case OP.APPEND: {
        const v = plain(pop(), source);
        list().push(v);
        break;
      }
      case OP.APPENDS: {
        const items = popMark().map((v) => plain(v, source));
        list().push(...items);
        break;
      }
      case OP.EMPTY_TUPLE:
        stack.push([]);
        break;
      case OP.TUPLE:
        stack.push(popMark());
        break;
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const n = code - OP.TUPLE1 + 1;
        if (stack.length < n) fail(`stack underflow at byte ${pos}`);
        stack.push(stack.splice(stack.length - n));
        break;
      }
      case OP.GLOBAL: {
        const module = line();
        stack.push(global(`${module}.${line()}`));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string")
          fail(`STACK_GLOBAL needs two strings at byte ${pos}`);
        stack.push(global(`${module}.${name}`));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const fn = pop();
        if (!(fn instanceof Global) || !Array.isArray(args)) fail(`REDUCE needs a global and a tuple at byte ${pos}`);
        stack.push(reduce((fn as Global).path, args as Item[], fail));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        build(top(), state, fail);
        break;
      }
      default:
        fail(
          code in OPCODE_NAMES
            ? `opcode ${OPCODE_NAMES[code]} (0x${code.toString(16)}) at byte ${pos} is not supported`
            : `byte 0x${code.toString(16)} at ${pos} is not a pickle opcode`,
        );
    }
  }
}

function typeName(v: Item): string {
  if (v instanceof Global) return `global ${v.path}`;
  if (v instanceof DType) return "numpy dtype";
  if (v instanceof NdArray) return "numpy array";
  if (v instanceof Map) return "dict";
  if (v instanceof Uint8Array) return "bytes";
  if (Array.isArray(v)) return "tuple or list";
  return v === null ? "None" : typeof v;
}

/** A value stored into a container or returned: globals and dtypes never leave the machine. */
function plain(v: Item, source: string): PickleValue {
  if (v instanceof Global || v instanceof DType)
    throw new PickleError(source, `a bare ${typeName(v)} is not a supported value`);
  if (Array.isArray(v)) for (const x of v) plain(x, source);
  return v as PickleValue;
}

type Fail = (problem: string) => never;

function reduce(path: string, args: Item[], fail: Fail): Item {
  if (RECONSTRUCT.includes(path)) {
    if (!(args[0] instanceof Global) || args[0].path !== "numpy.ndarray") fail(`${path} of a non-ndarray class`);
    return new NdArray([0], new Float32Array(0)); // filled by BUILD
  }
  if (path === "numpy.dtype") {
    if (typeof args[0] !== "string") fail("numpy.dtype needs a type code");
    return new DType(args[0] as string);
  }
  if (path === "_codecs.encode") {
    const [text, encoding] = args;
    if (typeof text !== "string" || encoding !== "latin1") fail("_codecs.encode is supported for latin1 text only");
    return Uint8Array.from(text as string, (c) => c.charCodeAt(0));
  }
  if (FROMBUFFER.includes(path)) {
    const [buffer, dtype, shape, order] = args;
    return decodeArray(buffer, dtype, shape, order === "F", fail);
  }
  return fail(`global ${path} cannot be called`);
}

function build(target: Item, state: Item, fail: Fail): void {
  if (!Array.isArray(state)) fail(`BUILD of a ${typeName(target)} with a ${typeName(state)} state`);
  if (target instanceof DType) {
    if (typeof state[1] !== "string") fail("numpy dtype state has no byte order");
    target.order = state[1] as string;
  } else if (target instanceof NdArray) {
    const [version, shape, dtype, fortran, raw] = state;
    if (version !== 1) fail(`numpy array state version ${String(version)} is not supported`);
    const a = decodeArray(raw, dtype, shape, fortran === true, fail);
    target.shape = a.shape;
    target.data = a.data;
  } else fail(`BUILD of a ${typeName(target)} is not supported`);
}

function decodeArray(raw: Item, dtype: Item, shape: Item, fortran: boolean, fail: Fail): NdArray {
  if (!(dtype instanceof DType)) return fail(`numpy array with a ${typeName(dtype)} dtype`);
  const code = dtype.code.replace(/^[<>|=]/, "");
  const size = ITEM_SIZE[code];
  if (!size) fail(`numpy dtype "${dtype.code}" is not supported (float16, float32 or float64 only)`);
  if (!(raw instanceof Uint8Array)) return fail(`numpy array data is a ${typeName(raw)}, not bytes`);
  if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && (n as number) >= 0))
    return fail("numpy array shape is not a tuple of sizes");
  const dims = shape as number[];
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== count * size)
    fail(`numpy array of shape (${dims.join(", ")}) ${code} needs ${count * size} bytes, has ${raw.length}`);
  const little = (/^[<>]/.test(dtype.code) ? dtype.code[0] : dtype.order) !== ">";
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const read =
    size === 2
      ? (i: number) => half(dv.getUint16(i * 2, little))
      : size === 4
        ? (i: number) => dv.getFloat32(i * 4, little)
        : (i: number) => dv.getFloat64(i * 8, little);
  const data = new Float32Array(count);
  if (!fortran) for (let i = 0; i < count; i++) data[i] = read(i);
  else {
    // Fortran order: the first index varies fastest in the source.
    const index = new Array(dims.length).fill(0);
    for (let f = 0; f < count; f++) {
      let c = 0;
      for (let d = 0; d < dims.length; d++) c = c * dims[d] + index[d];
      data[c] = read(f);
      for (let d = 0; d < dims.length && ++index[d] === dims[d]; d++) index[d] = 0;
    }
  }
  return new NdArray(dims, data);
}
