/**
 * Models tab: registered encoders. A Hugging Face / transformers.js model folder (config.json,
 * preprocessor_config.json, onnx/) from a folder picker, a drop or a URL becomes a patch encoder
 * for Inspect and a global evaluator for Compare; each card shows the derived spec, the checked
 * export's I/O signature, the stored files, which export runs, and deletes it.
 */
import { type DragEvent, type FormEvent, useState } from "react";
import type { EncoderRecord } from "../../core/encoders/registry";
import { formatBytes } from "../../core/pack";
import type { ValueInfo } from "../../core/pack/signature";
import type { Preprocess } from "../../core/quality/encoder-spec";
import { droppedFiles } from "../files";
import { useEncoders } from "../stores/encoders";
import { type EncoderSlot, useSettings } from "../stores/settings";

function valueText(v: ValueInfo): string {
  return `${v.name}: ${v.type ?? "?"}[${(v.shape ?? []).join(", ")}]`;
}

function preprocessText(p: Preprocess | undefined, side: number): string {
  if (!p) return `fitted into ${side}² on white`;
  const steps: string[] = ["RGB (alpha dropped)"];
  if (p.resize) {
    steps.push(
      "shortest_edge" in p.resize
        ? `resize shortest edge → ${p.resize.shortest_edge} (${p.resample})`
        : `resize → ${p.resize.height}×${p.resize.width} (${p.resample})`,
    );
  }
  if (p.crop) steps.push(`center crop ${p.crop.height}×${p.crop.width}`);
  if (p.rescale_factor !== undefined) steps.push(`× ${p.rescale_factor.toPrecision(6)}`);
  return steps.join(" → ");
}

const SLOT_LABELS: Record<EncoderSlot, string> = {
  inspect: "Inspect patch encoder",
  dino: "Compare DINO-style",
  clip_i: "Compare CLIP-I",
};

function EncoderCard({ record }: { record: EncoderRecord }) {
  const remove = useEncoders((s) => s.remove);
  const opened = useEncoders((s) => s.opened[record.id]);
  const choice = useSettings((s) => s.encoderChoice);
  const file = useSettings((s) => s.encoderFile[record.id] ?? "");
  const { spec, signature } = record;
  const usedIn = (Object.keys(SLOT_LABELS) as EncoderSlot[]).filter((k) => choice[k] === record.id);
  return (
    <article className="pack encoder" data-encoder-id={record.id} data-model-type={record.modelType}>
      <header>
        <h4>
          {record.title} <span className="muted">({record.modelType})</span>
        </h4>
        <span className="status" data-testid="encoder-status">
          {opened ? `Open: ${opened.file} on ${opened.provider === "webgpu" ? "WebGPU" : "WASM"}` : "Not open"}
          {usedIn.length ? ` · used as ${usedIn.map((k) => SLOT_LABELS[k]).join(", ")}` : ""}
        </span>
      </header>
      <p className="muted">
        {record.source.kind === "url" ? `from ${record.source.url}` : `from ${record.source.label}`} ·{" "}
        {formatBytes(record.totalBytes)} · {record.processor} · registered {new Date(record.cachedAt).toLocaleString()}
      </p>
      <table className="roles encoder-spec" data-testid="encoder-spec">
        <tbody>
          <tr>
            <th>Patch grid</th>
            <td>
              {spec.grid.join(" × ")} of dim {spec.dim}, from <code>{spec.output}</code> after {spec.skip_tokens} token
              {spec.skip_tokens === 1 ? "" : "s"} ({spec.skip_tokens ? "CLS + registers" : "no CLS"})
            </td>
          </tr>
          <tr>
            <th>Global embedding</th>
            <td>
              DINO-style: {spec.skip_tokens ? "CLS token" : "mean patch"}; CLIP-I:{" "}
              {spec.embedding_output ? (
                <code>{spec.embedding_output}</code>
              ) : spec.skip_tokens ? (
                "CLS token"
              ) : (
                "mean patch"
              )}
            </td>
          </tr>
          <tr>
            <th>Input</th>
            <td>
              <code>{spec.input}</code> [1, 3, {spec.image_size}, {spec.image_size}]:{" "}
              {preprocessText(spec.preprocess, spec.image_size)}
              {spec.normalize &&
                `, normalized (mean ${spec.normalize.mean.join(", ")}; std ${spec.normalize.std.join(", ")})`}
            </td>
          </tr>
          <tr>
            <th>Checked</th>
            <td>
              <code>{signature.file}</code>
              {signature.inputs.map((v) => (
                <code className="block" key={v.name}>
                  in {valueText(v)}
                </code>
              ))}
              {signature.outputs.map((v) => (
                <code className="block" key={v.name}>
                  out {valueText(v)}
                </code>
              ))}
            </td>
          </tr>
          <tr>
            <th>ONNX exports</th>
            <td>
              {record.models.map((m) => (
                <code className="block" key={m.file}>
                  {m.file} ({m.variant}
                  {m.externalData.length ? ` + ${m.externalData.map((d) => d.file).join(", ")}` : ""})
                </code>
              ))}
            </td>
          </tr>
        </tbody>
      </table>
      {record.notes.length > 0 && (
        <ul className="muted">
          {record.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      <div className="row">
        <label>
          Run{" "}
          <select
            aria-label={`ONNX export of ${record.id}`}
            value={file}
            onChange={(e) => useSettings.getState().setEncoderFile(record.id, e.target.value || undefined)}
          >
            <option value="">the backend's choice (fp16 on WebGPU with shader-f16, int8 on WASM, else fp32)</option>
            {record.models.map((m) => (
              <option key={m.file} value={m.file}>
                {m.file}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void remove(record.id)}>
          Delete encoder
        </button>
      </div>
    </article>
  );
}

export function EncoderRegistry() {
  const { records, lastError, register } = useEncoders();
  const [url, setUrl] = useState("");
  const [dragging, setDragging] = useState(false);

  const fromEntries = (entries: [string, File][], label: string) => {
    if (!entries.length) return;
    void register({ kind: "files", label, files: Object.fromEntries(entries) }, label);
  };
  const onUrl = (e: FormEvent) => {
    e.preventDefault();
    const u = url.trim();
    if (u) void register({ kind: "url", url: new URL(u, location.href).href }, u);
  };
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const entries = await droppedFiles(e.dataTransfer);
    fromEntries(entries, entries[0]?.[0].split("/")[0] ?? "dropped files");
  };

  return (
    <section className="panel" aria-label="Encoders">
      <h3>Encoders (Hugging Face / transformers.js folders)</h3>
      <p className="muted">
        A model folder with <code>config.json</code>, <code>preprocessor_config.json</code> and <code>onnx/</code>{" "}
        (DINOv2, DINOv2 with registers, ViT / DINO v1, CLIP, SigLIP) becomes a patch encoder for Inspect and an
        evaluator for Compare; the grid, tokens to skip and preprocessing come from its configs.
      </p>
      {lastError && (
        <div className="error-box" role="alert" data-testid="hf-encoder-error">
          <strong>Encoder not registered.</strong>
          <pre>{lastError}</pre>
        </div>
      )}
      <div className="row">
        <label className="button">
          Choose encoder folder…
          <input
            type="file"
            data-testid="encoder-folder-input"
            aria-label="Choose encoder folder"
            hidden
            {...{ webkitdirectory: "" }}
            onChange={(e) => {
              const list = e.target.files;
              if (!list?.length) return;
              const entries = Array.from(list, (f): [string, File] => [f.webkitRelativePath || f.name, f]);
              fromEntries(entries, entries[0][0].split("/")[0]);
              e.target.value = "";
            }}
          />
        </label>
        <form className="row" onSubmit={onUrl}>
          <label>
            From URL{" "}
            <input
              type="text"
              aria-label="Encoder folder URL"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              placeholder="https://huggingface.co/onnx-community/dinov2-small/resolve/main/"
              size={48}
            />
          </label>
          <button type="submit" disabled={!url.trim()}>
            Register URL
          </button>
        </form>
      </div>
      <section
        className={`dropzone${dragging ? " dragging" : ""}`}
        aria-label="Drop an encoder folder here"
        data-testid="encoder-dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => void onDrop(e)}
      >
        Drop a model folder (config.json, preprocessor_config.json, onnx/) here
      </section>
      {records.length === 0 && <p className="muted">No encoder registered yet.</p>}
      {records.map((r) => (
        <EncoderCard key={r.id} record={r} />
      ))}
    </section>
  );
}
