/**
 * A user-supplied patch encoder for any ONNX that is not a Hugging Face folder (those register on
 * the Models tab): the ONNX file plus its description (docs/manifest.md, "user encoders"). Choosing
 * the file prefills the description from the model's own input and output names and shapes; what
 * could only be guessed is listed under the form.
 */
import { useRef, useState } from "react";
import { draftDescription } from "../../../core/encoders/describe";
import { inference } from "../../services/workers";
import { useInspect } from "../../stores/inspect";
import { useSettings } from "../../stores/settings";
import { loadUserEncoder } from "../../stores/user-encoders";

const TEMPLATE = {
  file: "choose the ONNX file: its input and output names and shapes fill this in",
  range: [0, 1],
  output_layout: "BTD",
};

export function UserEncoderForm() {
  const [text, setText] = useState(JSON.stringify(TEMPLATE, null, 2));
  const [model, setModel] = useState<File>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [hint, setHint] = useState<string>();
  // Bumped by every edit: a prefill that arrives after the user typed is dropped.
  const edits = useRef(0);
  // Only a hand-written encoder: registered ones are chosen in the picker above.
  const user = useInspect((s) => (s.userEncoder?.registered ? undefined : s.userEncoder));

  const prefill = async (file: File) => {
    const at = edits.current;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const sig = await inference.call((api) => api.onnxSignature(bytes, useSettings.getState().executionProvider));
      if (edits.current !== at) return;
      const draft = draftDescription(file.name, sig.inputs, sig.outputs);
      setText(JSON.stringify(draft.description, null, 2));
      const io = (list: typeof sig.inputs) =>
        list.map((v) => `${v.name} ${v.type ?? "?"}[${(v.shape ?? []).join(", ")}]`).join(", ");
      setHint(
        `From the model: inputs ${io(sig.inputs)}; outputs ${io(sig.outputs)}. Check: ${draft.guessed.join(", ")}` +
          " (and add normalize if the model expects it).",
      );
    } catch (e) {
      if (edits.current === at) setHint(`Could not read the model's inputs and outputs: ${(e as Error).message}`);
    }
  };

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

  // Registered and enhanced encoders are chosen in the picker above, not described here.
  const fromForm = Boolean(user && !user.registered && !user.enhanced);
  return (
    <details className="panel inspect-encoder" open={fromForm}>
      <summary>
        Use your own patch encoder {fromForm && <span className="muted">({user?.spec.file} in use)</span>}
      </summary>
      <p className="muted">
        For a Hugging Face / transformers.js folder, register it on the Models tab instead: its configs give all of
        this. Otherwise: an ONNX model taking <code>[1, 3, image_size, image_size]</code> pixels in <code>range</code>{" "}
        and giving a feature map (<code>BHWD</code> or <code>BDHW</code>) or tokens (<code>BTD</code>, with{" "}
        <code>skip_tokens</code> CLS/register tokens first, as in DINOv2 exports).
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
            void prefill(file);
          }}
        />
      </label>
      <textarea
        aria-label="Encoder description (JSON)"
        rows={16}
        cols={48}
        value={text}
        onChange={(e) => {
          edits.current++;
          setText(e.target.value);
        }}
      />
      {hint && (
        <p className="muted" data-testid="encoder-hint">
          {hint}
        </p>
      )}
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
