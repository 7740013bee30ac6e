/**
 * A user-supplied patch encoder: an ONNX file plus its description (docs/manifest.md, "user
 * encoders"). The JSON is prefilled for a DINOv2-style ViT export; the file name fills itself in.
 */
import { useState } from "react";
import { useInspect } from "../../stores/inspect";
import { loadUserEncoder } from "../../stores/user-encoders";

const TEMPLATE = {
  file: "dinov2_vits14.onnx",
  input: "pixel_values",
  output: "last_hidden_state",
  image_size: 224,
  range: [0, 1],
  grid: [16, 16],
  dim: 384,
  skip_tokens: 1,
  output_layout: "BTD",
  normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

export function UserEncoderForm() {
  const [text, setText] = useState(JSON.stringify(TEMPLATE, null, 2));
  const [model, setModel] = useState<File>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const user = useInspect((s) => s.userEncoder);

  const load = async () => {
    setError(undefined);
    setBusy(true);
    try {
      const info = await loadUserEncoder("encoder description", text, model);
      useInspect.getState().setUserEncoder(info);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <details className="panel inspect-encoder" open={Boolean(user)}>
      <summary>Use your own patch encoder {user && <span className="muted">({user.spec.file} in use)</span>}</summary>
      <p className="muted">
        An ONNX model taking <code>[1, 3, image_size, image_size]</code> pixels in <code>range</code> and giving a
        feature map (<code>BHWD</code> or <code>BDHW</code>) or tokens (<code>BTD</code>, with <code>skip_tokens</code>{" "}
        CLS/register tokens first, as in DINOv2 exports).
      </p>
      <label>
        ONNX file{" "}
        <input
          type="file"
          accept=".onnx"
          aria-label="Encoder ONNX file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            setModel(file);
            if (!file) return;
            try {
              setText(JSON.stringify({ ...JSON.parse(text), file: file.name }, null, 2));
            } catch {
              // Leave text the user is still editing alone.
            }
          }}
        />
      </label>
      <textarea
        aria-label="Encoder description (JSON)"
        rows={16}
        cols={48}
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <div className="row">
        <button type="button" disabled={busy} onClick={() => void load()}>
          {busy ? "Loading…" : "Load encoder"}
        </button>
        {user && (
          <button type="button" onClick={() => useInspect.getState().setUserEncoder(undefined)}>
            Back to the pack's encoder
          </button>
        )}
      </div>
      {error && (
        <div className="error-box" role="alert" data-testid="encoder-error">
          {error}
        </div>
      )}
    </details>
  );
}
