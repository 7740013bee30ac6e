/**
 * The example held-out pair's correspondences: view B's subject patches tinted by whether their
 * best match in view A (the encoder's, before training and now) is the true one; hovering a B
 * patch outlines its match in A (solid) and the true patch (dashed).
 */
import { useEffect, useRef, useState } from "react";
import type { ViewPair } from "../../../core/enhance/views";
import { tensorToImage } from "../../../core/generate/image";

const SCALE = 3;

function draw(
  canvas: HTMLCanvasElement | null,
  pixels: Float32Array,
  size: number,
  overlay: (ctx: CanvasRenderingContext2D) => void,
) {
  const ctx = canvas?.getContext("2d");
  if (!ctx) return;
  const img = tensorToImage(pixels, 0, size, [-1, 1]);
  const off = new OffscreenCanvas(size, size);
  off.getContext("2d")?.putImageData(new ImageData(new Uint8ClampedArray(img.data), size, size), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, size * SCALE, size * SCALE);
  overlay(ctx);
}

function Row({ pair, matches, grid, title }: { pair: ViewPair; matches: Int32Array; grid: number; title: string }) {
  const size = Math.round(Math.sqrt(pair.a.length / 3));
  const cell = (size * SCALE) / grid;
  const a = useRef<HTMLCanvasElement>(null);
  const b = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState(-1);
  const valid = [...pair.target].filter((t) => t >= 0).length;
  const right = [...pair.target].filter((t, i) => t >= 0 && matches[i] === t).length;
  const box = (ctx: CanvasRenderingContext2D, p: number, color: string, dash: number[] = []) => {
    ctx.setLineDash(dash);
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.strokeRect((p % grid) * cell + 1, Math.floor(p / grid) * cell + 1, cell - 2, cell - 2);
  };
  useEffect(() => {
    draw(a.current, pair.a, size, (ctx) => {
      if (hover < 0) return;
      box(ctx, matches[hover], "#ffd43b");
      if (pair.target[hover] >= 0) box(ctx, pair.target[hover], "#fff", [4, 3]);
    });
    draw(b.current, pair.b, size, (ctx) => {
      for (let i = 0; i < grid * grid; i++) {
        if (pair.target[i] < 0) continue;
        ctx.fillStyle = matches[i] === pair.target[i] ? "rgba(47,158,68,0.45)" : "rgba(224,49,49,0.45)";
        ctx.fillRect((i % grid) * cell, Math.floor(i / grid) * cell, cell, cell);
      }
      if (hover >= 0) box(ctx, hover, "#ffd43b");
    });
  });
  return (
    <figure className="match-row" data-testid="match-row" data-correct={right} data-valid={valid}>
      <figcaption>
        {title}: {right} of {valid} subject patches matched correctly
      </figcaption>
      <canvas ref={a} width={size * SCALE} height={size * SCALE} aria-label={`${title}: view A`} />
      <canvas
        ref={b}
        width={size * SCALE}
        height={size * SCALE}
        aria-label={`${title}: view B`}
        onMouseMove={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          const x = Math.floor(((e.clientX - r.left) / r.width) * grid);
          const y = Math.floor(((e.clientY - r.top) / r.height) * grid);
          setHover(Math.min(grid - 1, y) * grid + Math.min(grid - 1, x));
        }}
        onMouseLeave={() => setHover(-1)}
      />
    </figure>
  );
}

export function MatchView({
  pair,
  grid,
  before,
  latest,
  latestStep,
}: {
  pair: ViewPair;
  grid: number;
  before?: Int32Array;
  latest?: Int32Array;
  latestStep?: number;
}) {
  if (!before) return null;
  return (
    <section className="match-view" aria-label="Example pair matches">
      <p className="muted">
        A held-out pair (view A left, view B right). Green: the B patch's best match in A is the true one; red: it is
        not. Hover a B patch to see its match (yellow) and the true patch (dashed).
      </p>
      <Row pair={pair} matches={before} grid={grid} title="Before training" />
      {latest && latestStep ? <Row pair={pair} matches={latest} grid={grid} title={`Step ${latestStep}`} /> : null}
    </section>
  );
}
