import { describe, expect, it } from "vitest";
import { NdArray, type PickleDict, readPickle } from "./pickle";
import { type PickleWritable, writePickle } from "./pickle-write";

const text = (s: string) => [...new TextEncoder().encode(s)];
/** SHORT_BINUNICODE, SHORT_BINBYTES, MEMOIZE, as Python's protocol 4+ writes them. */
const str = (s: string) => [0x8c, text(s).length, ...text(s), 0x94];
const bytes = (b: number[]) => [0x43, b.length, ...b, 0x94];
const f32 = (values: number[]) => [...new Uint8Array(Float32Array.from(values).buffer)];
const dtypeF4 = (dtypeGlobal: number[]) => [
  ...dtypeGlobal,
  ...str("f4"),
  0x89,
  0x88,
  0x87,
  0x94,
  0x52,
  0x94, // False, True, TUPLE3, REDUCE
  0x28,
  0x4b,
  3,
  ...str("<"),
  0x4e,
  0x4e,
  0x4e,
  0x4a,
  255,
  255,
  255,
  255,
  0x4a,
  255,
  255,
  255,
  255,
  0x4b,
  0,
  0x74,
  0x94,
  0x62, // BUILD
];
const pickle = (proto: number, body: number[]) => {
  const frame = [...body, 0x2e];
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(frame.length), true);
  return Uint8Array.from([0x80, proto, 0x95, ...len, ...frame]);
};
const dict = (v: unknown) => v as PickleDict;

describe("writePickle / readPickle", () => {
  it("round-trips nested int- and str-keyed dicts of arrays, ints, floats, strings, booleans and None", () => {
    const small = new NdArray([2, 3], Float32Array.from([0, 1, 2.5, -3, 4, 1e-8]));
    const big = new NdArray(
      [16, 16],
      Float32Array.from({ length: 256 }, (_, i) => Math.fround(Math.sin(i))),
    );
    const value: PickleWritable = new Map<number | string, PickleWritable>([
      [
        0,
        new Map<number | string, PickleWritable>([
          ["target_map", small],
          ["gene_map", big],
        ]),
      ],
      [
        300,
        new Map<number | string, PickleWritable>([
          ["seed", 4294967295],
          ["neg", -70000],
          ["id", "1f004 é"],
        ]),
      ],
      [
        "extras",
        new Map<number | string, PickleWritable>([
          ["f", 0.25],
          ["none", null],
          ["yes", true],
          ["big", -(2 ** 40)],
        ]),
      ],
    ]);
    const back = dict(readPickle(writePickle(value)));
    expect([...back.keys()]).toEqual([0, 300, "extras"]);
    const maps = dict(back.get(0));
    expect(maps.get("target_map")).toEqual(small);
    expect(maps.get("gene_map")).toEqual(big);
    expect(Object.fromEntries(dict(back.get(300)))).toEqual({ seed: 4294967295, neg: -70000, id: "1f004 é" });
    expect(Object.fromEntries(dict(back.get("extras")))).toEqual({ f: 0.25, none: null, yes: true, big: -(2 ** 40) });
  });

  it("writes protocol 3 with numpy.core.multiarray._reconstruct, the dtype memoized once", () => {
    const a = new NdArray([1, 1], Float32Array.of(1));
    const out = writePickle(
      new Map([
        [0, a],
        [1, a],
      ]),
    );
    expect([...out.subarray(0, 2)]).toEqual([0x80, 3]);
    const ascii = new TextDecoder("latin1").decode(out);
    expect(ascii.split("numpy\ndtype\n").length).toBe(2);
    expect(ascii).toContain("cnumpy.core.multiarray\n_reconstruct\n");
  });

  it("reads numpy 2's numpy._core with STACK_GLOBAL, MEMOIZE, BINGET and FRAME (protocol 4)", () => {
    // {0: _reconstruct(ndarray, (0,), b'b') BUILD (1, (2, 2), dtype('f4'), False, data)}
    const body = [
      0x7d,
      0x94,
      0x4b,
      0, // EMPTY_DICT, MEMOIZE 0, key 0
      ...str("numpy._core.multiarray"),
      ...str("_reconstruct"),
      0x93,
      0x94, // memo 1, 2, 3
      ...str("numpy"),
      ...str("ndarray"),
      0x93,
      0x94, // memo 4, 5, 6
      0x4b,
      0,
      0x85,
      0x94,
      ...bytes([0x62]),
      0x87,
      0x94,
      0x52,
      0x94, // (0,), b'b', TUPLE3, REDUCE
      0x28,
      0x4b,
      1,
      0x4b,
      2,
      0x4b,
      2,
      0x86,
      0x94,
      ...dtypeF4([0x68, 4, ...str("dtype"), 0x93, 0x94]), // BINGET 4 = "numpy"
      0x89,
      ...bytes(f32([1, 2, 3, 4])),
      0x74,
      0x94,
      0x62, // False, data, TUPLE, BUILD
      0x73, // SETITEM
    ];
    const a = dict(readPickle(pickle(4, body))).get(0);
    expect(a).toEqual(new NdArray([2, 2], Float32Array.of(1, 2, 3, 4)));
  });

  it("reads protocol 5's _frombuffer with BYTEARRAY8 and Fortran order", () => {
    const data = f32([1, 2, 3, 4, 5, 6]); // (2, 3) in Fortran order: columns [1,2], [3,4], [5,6]
    const len = [data.length, 0, 0, 0, 0, 0, 0, 0];
    const body = [
      ...str("numpy.core.numeric"),
      ...str("_frombuffer"),
      0x93,
      0x94,
      0x28,
      0x96,
      ...len,
      ...data,
      0x94,
      ...dtypeF4([...str("numpy"), ...str("dtype"), 0x93, 0x94]),
      0x4b,
      2,
      0x4b,
      3,
      0x86,
      0x94,
      ...str("F"),
      0x74,
      0x94,
      0x52,
      0x94,
    ];
    expect(readPickle(pickle(5, body))).toEqual(new NdArray([2, 3], Float32Array.of(1, 3, 5, 2, 4, 6)));
  });

  it("reads protocol 2's bytes as _codecs.encode(latin1 text) with GLOBAL, BINPUT and BINGET", () => {
    const latin1 = String.fromCharCode(...f32([0.5, -2]));
    const body = [
      0x63,
      ...text("_codecs\nencode\n"),
      0x71,
      0,
      0x58,
      ...[text(latin1).length, 0, 0, 0],
      ...text(latin1),
      0x58,
      6,
      0,
      0,
      0,
      ...text("latin1"),
      0x86,
      0x52,
    ];
    const raw = readPickle(Uint8Array.from([0x80, 2, ...body, 0x2e]));
    expect([...(raw as Uint8Array)]).toEqual(f32([0.5, -2]));
  });

  it("converts float64 and float16 arrays and big-endian data to float32", () => {
    const dtype = (code: string, order: string) => [
      ...str("numpy"),
      ...str("dtype"),
      0x93,
      0x94,
      ...str(code),
      0x89,
      0x88,
      0x87,
      0x52,
      0x28,
      0x4b,
      3,
      ...str(order),
      0x4e,
      0x4e,
      0x4e,
      0x4a,
      255,
      255,
      255,
      255,
      0x4a,
      255,
      255,
      255,
      255,
      0x4b,
      0,
      0x74,
      0x62,
    ];
    const array = (code: string, order: string, raw: number[], n: number) =>
      readPickle(
        pickle(5, [
          ...str("numpy._core.numeric"),
          ...str("_frombuffer"),
          0x93,
          0x28,
          ...bytes(raw),
          ...dtype(code, order),
          0x4b,
          n,
          0x85,
          ...str("C"),
          0x74,
          0x52,
        ]),
      ) as NdArray;
    const f8 = new Uint8Array(new Float64Array([1 / 3, -2]).buffer);
    expect([...array("f8", "<", [...f8], 2).data]).toEqual([Math.fround(1 / 3), -2]);
    expect([...array("f2", "<", [0x00, 0x38, 0x00, 0xc0], 2).data]).toEqual([0.5, -2]); // half 0.5, -2
    expect([...array("f4", ">", [0x3f, 0x80, 0, 0], 1).data]).toEqual([1]);
  });

  it("names what it does not support and never calls other globals", () => {
    const read = (b: number[]) => () => readPickle(Uint8Array.from(b), "x.pkl");
    expect(read([0x80, 4, 0xff])).toThrow(/x\.pkl: byte 0xff at 2 is not a pickle opcode/);
    expect(read([0x80, 4, 0x81])).toThrow(/opcode NEWOBJ \(0x81\) at byte 2 is not supported/);
    expect(read([0x80, 2, 0x63, ...text("os\nsystem\n")])).toThrow(/global os\.system is not supported/);
    expect(read([0x80, 4, ...str("torch._utils"), ...str("_rebuild_tensor_v2"), 0x93])).toThrow(
      /global torch\._utils\._rebuild_tensor_v2 is not supported/,
    );
    expect(read([0x80, 4, 0x8c, 10, 0x61])).toThrow(/truncated at byte 4/);
    expect(read([0x80, 4, ...str("numpy"), ...str("dtype"), 0x93, 0x2e])).toThrow(/a bare global numpy\.dtype/);
    const i8 = [...str("numpy"), ...str("dtype"), 0x93, ...str("i8"), 0x89, 0x88, 0x87, 0x52];
    const body = [...str("numpy.core.numeric"), ...str("_frombuffer"), 0x93, 0x28, ...bytes([0, 0, 0, 0]), ...i8];
    expect(() => readPickle(pickle(5, [...body, 0x4b, 1, 0x85, ...str("C"), 0x74, 0x52]))).toThrow(
      /numpy dtype "i8" is not supported/,
    );
    const f4 = dtypeF4([...str("numpy"), ...str("dtype"), 0x93, 0x94]);
    const short = [...str("numpy.core.numeric"), ...str("_frombuffer"), 0x93, 0x28, ...bytes([0, 0, 0]), ...f4];
    expect(() => readPickle(pickle(5, [...short, 0x4b, 1, 0x85, ...str("C"), 0x74, 0x52]))).toThrow(
      /shape \(1\) f4 needs 4 bytes, has 3/,
    );
  });
});
