/** The Compare report as a zip: report.md, report.json (every number and setting) and the charts as PNG. */
import { strToU8, zipSync } from "fflate";
import { type CompareReport, reportMarkdown } from "../../../core/metrics/report";
import { svgToPng } from "./charts";

/** Charts currently rendered under `root` (each SVG with data-testid interval-chart / delta-chart). */
async function chartPngs(root: ParentNode): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  const svgs = root.querySelectorAll<SVGSVGElement>("svg[data-testid$='-chart']");
  for (const [i, svg] of [...svgs].entries()) {
    const kind = svg.dataset.testid === "delta-chart" ? "deltas" : "intervals";
    out[`charts/${String(i + 1).padStart(2, "0")}-${kind}-${svg.dataset.metric ?? "metric"}.png`] = await svgToPng(svg);
  }
  return out;
}

export async function reportZip(report: CompareReport, chartsRoot: ParentNode): Promise<Uint8Array> {
  const charts = await chartPngs(chartsRoot);
  return zipSync({
    "report.json": strToU8(JSON.stringify(report, null, 1)),
    "report.md": strToU8(reportMarkdown(report, Object.keys(charts))),
    ...charts,
  });
}
