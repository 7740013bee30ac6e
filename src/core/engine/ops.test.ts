import { describe, expect, it } from "vitest";
import { gaussian } from "../sampling/rng";
import * as ops from "./ops";
import { expectGradient, probeLoss } from "./testing/fd";

/**
 * Every backward of the CPU backend against central finite differences (h = 1e-2, |Δ| ≤
 * 2e-3·(1 + |fd|): float32 forward rounding plus the O(h²) truncation of smooth ops), and the
 * permutations and lookups against their definitions.
 */
const zeros = (n: number) => new Float32Array(n);

describe("CPU ops: backward vs finite differences", () => {
  it("linear: dx, dW, db", () => {
    const [rows, inF, outF] = [3, 4, 5];
    const x = gaussian(1, rows * inF);
    const w = gaussian(2, outF * inF);
    const b = gaussian(3, outF);
    const dy = gaussian(4, rows * outF);
    const probe = () => probeLoss(ops.linear(x, w, b, rows, inF, outF), dy);
    const g = { dx: zeros(x.length), dw: zeros(w.length), db: zeros(b.length) };
    ops.linearBackward(dy, x, w, rows, inF, outF, g);
    expectGradient(probe, x, g.dx, { label: "dx" });
    expectGradient(probe, w, g.dw, { label: "dW" });
    expectGradient(probe, b, g.db, { label: "db" });
  });

  it("matmul with transposes and broadcast matches the plain definition", () => {
    const s = { batch: 2, m: 3, n: 4, k: 5 };
    const a = gaussian(5, 2 * 3 * 5);
    const b = gaussian(6, 5 * 4);
    const plain = ops.matmul(a, b, { ...s, broadcastB: true });
    const bt = new Float32Array(20);
    for (let t = 0; t < 5; t++) for (let j = 0; j < 4; j++) bt[j * 5 + t] = b[t * 4 + j];
    const at = new Float32Array(a.length);
    for (let z = 0; z < 2; z++)
      for (let i = 0; i < 3; i++) for (let t = 0; t < 5; t++) at[z * 15 + t * 3 + i] = a[z * 15 + i * 5 + t];
    const viaT = ops.matmul(at, bt, { ...s, transA: true, transB: true, broadcastB: true });
    for (let i = 0; i < plain.length; i++) expect(viaT[i]).toBeCloseTo(plain[i], 5);
    expect(plain[1 * 12 + 2 * 4 + 3]).toBeCloseTo(
      Array.from({ length: 5 }, (_, t) => a[15 + 2 * 5 + t] * b[t * 4 + 3]).reduce((p, q) => p + q),
      5,
    );
  });

  for (const affine of [false, true]) {
    it(`layer norm ${affine ? "with" : "without"} affine: dx${affine ? ", dγ, dβ" : ""}`, () => {
      const [rows, c] = [3, 8];
      const x = gaussian(7, rows * c);
      const gamma = affine ? gaussian(8, c) : undefined;
      const beta = affine ? gaussian(9, c) : undefined;
      const dy = gaussian(10, rows * c);
      const probe = () => probeLoss(ops.layerNorm(x, rows, c, 1e-6, gamma, beta).y, dy);
      const g = { dx: zeros(x.length), dgamma: zeros(c), dbeta: zeros(c) };
      ops.layerNormBackward(dy, x, ops.layerNorm(x, rows, c, 1e-6, gamma, beta).saved, rows, c, g, gamma);
      expectGradient(probe, x, g.dx, { label: "dx" });
      if (gamma && beta) {
        expectGradient(probe, gamma, g.dgamma, { label: "dγ" });
        expectGradient(probe, beta, g.dbeta, { label: "dβ" });
      }
      const { y } = ops.layerNorm(x, rows, c, 1e-6);
      const mean = y.slice(0, c).reduce((p, q) => p + q) / c;
      const variance = y.slice(0, c).reduce((p, q) => p + (q - mean) ** 2, 0) / c;
      expect(mean).toBeCloseTo(0, 6);
      expect(variance).toBeCloseTo(1, 4);
    });
  }

  for (const [name, fwd, bwd] of [
    ["gelu", ops.gelu, ops.geluBackward],
    ["silu", ops.silu, ops.siluBackward],
  ] as const) {
    it(`${name}: dx`, () => {
      const x = gaussian(11, 32).map((v) => 2 * v);
      const dy = gaussian(12, 32);
      const dx = zeros(32);
      bwd(dy, x, dx);
      expectGradient(() => probeLoss(fwd(x), dy), x, dx);
    });
  }

  it("gelu and silu values", () => {
    const x = new Float32Array([-1, 0, 2]);
    const g = ops.gelu(x);
    expect(g[0]).toBeCloseTo(-0.158808, 5); // tanh approximation
    expect(g[2]).toBeCloseTo(1.954598, 5);
    expect(ops.silu(x)[2]).toBeCloseTo(2 / (1 + Math.exp(-2)), 6);
  });

  for (const [name, m] of [
    ["self", 5],
    ["cross", 3],
  ] as const) {
    it(`${name}-attention, 2 heads: dq, dk, dv`, () => {
      const s = { batch: 2, n: 5, m, heads: 2, d: 3 };
      const q = gaussian(13, 2 * 5 * 6);
      const k = gaussian(14, 2 * m * 6);
      const v = gaussian(15, 2 * m * 6);
      const dout = gaussian(16, q.length);
      const probe = () => probeLoss(ops.attention(q, k, v, s).out, dout);
      const g = { dq: zeros(q.length), dk: zeros(k.length), dv: zeros(v.length) };
      ops.attentionBackward(dout, q, k, v, ops.attention(q, k, v, s).probs, s, g);
      expectGradient(probe, q, g.dq, { label: "dq" });
      expectGradient(probe, k, g.dk, { label: "dk" });
      expectGradient(probe, v, g.dv, { label: "dv" });
    });
  }

  it("attention with a single key returns that key's value", () => {
    const s = { batch: 1, n: 2, m: 1, heads: 2, d: 2 };
    const v = new Float32Array([1, 2, 3, 4]);
    expect([...ops.attention(gaussian(17, 8), gaussian(18, 4), v, s).out]).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
  });

  it("modulate: dx, dshift, dscale; gated residual: dh, dgate", () => {
    const [B, T, C] = [2, 3, 4];
    const x = gaussian(19, B * T * C);
    const sh = gaussian(20, B * C);
    const sc = gaussian(21, B * C);
    const dy = gaussian(22, x.length);
    const probe = () => probeLoss(ops.modulate(x, sh, sc, B, T, C), dy);
    const g = { dx: zeros(x.length), dshift: zeros(sh.length), dscale: zeros(sc.length) };
    ops.modulateBackward(dy, x, sc, B, T, C, g);
    expectGradient(probe, x, g.dx, { label: "dx" });
    expectGradient(probe, sh, g.dshift, { label: "dshift" });
    expectGradient(probe, sc, g.dscale, { label: "dscale" });

    const h = gaussian(23, x.length);
    const gate = gaussian(24, B * C);
    const probeGated = () => {
      const y = x.slice();
      ops.addGated(y, gate, h, B, T, C);
      return probeLoss(y, dy);
    };
    const gg = { dh: zeros(h.length), dgate: zeros(gate.length) };
    ops.addGatedBackward(dy, gate, h, B, T, C, gg);
    expectGradient(probeGated, h, gg.dh, { label: "dh" });
    expectGradient(probeGated, gate, gg.dgate, { label: "dgate" });
  });

  it("patchify follows the (c, py, px) feature order and unpatchify inverts it", () => {
    const s = { batch: 2, channels: 4, size: 4, patch: 2 };
    const latent = gaussian(25, 2 * 4 * 16);
    const tokens = ops.patchify(latent, s);
    // token (gy=1, gx=0) of item 1, feature c=2, py=1, px=1 = latent[1, 2, 3, 1]
    expect(tokens[(1 * 4 + 2) * 16 + 2 * 4 + 1 * 2 + 1]).toBe(latent[((1 * 4 + 2) * 4 + 3) * 4 + 1]);
    expect(ops.unpatchify(tokens, s)).toEqual(latent);
  });

  it("embedding gather and its scatter-add backward", () => {
    const table = gaussian(26, 5 * 3);
    const ids = [4, 0, 4];
    const y = ops.embed(ids, table, 3);
    expect([...y.subarray(0, 3)]).toEqual([...table.subarray(12, 15)]);
    const dy = gaussian(27, 9);
    const dt = zeros(15);
    ops.embedBackward(dy, ids, 3, dt);
    expectGradient(() => probeLoss(ops.embed(ids, table, 3), dy), table, dt);
  });

  it("timestep embedding", () => {
    const e = ops.timestepEmbedding([0, 10], 8);
    expect([...e.subarray(0, 8)]).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    // f_1 = 10000^(−1/4) = 0.1
    expect(e[8 + 1]).toBeCloseTo(Math.cos(1), 6);
    expect(e[8 + 4 + 1]).toBeCloseTo(Math.sin(1), 6);
  });
});
