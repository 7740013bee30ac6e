/** One run in the results gallery: its images, full settings, progress and actions. */
import type { Manifest } from "../../../core/pack";
import { describeRun, imageSeed, pngName } from "../../generate-settings";
import { type RunCard, useGeneration } from "../../stores/generation";
import { useSelection } from "../../stores/selection";
import { useSettings } from "../../stores/settings";
import { downloadPng, RgbaCanvas } from "./RgbaCanvas";

export function RunCardView({ card, manifest }: { card: RunCard; manifest?: Manifest }) {
  const { rerun, remove } = useGeneration.getState();
  const s = card.settings;
  const sendToInspect = (index: number) => {
    const label = `${s.reference.label}, seed ${imageSeed(s, index)}`;
    const second = card.second && s.second && { rgba: card.second, label: s.second.label };
    useSelection
      .getState()
      .select(
        { rgba: card.reference, label: s.reference.label },
        { rgba: card.images[index], label, settings: s },
        second,
      );
    useSettings.getState().setTab("inspect");
  };
  return (
    <article
      className={`run-card ${card.status}`}
      data-testid="run-card"
      data-status={card.status}
      data-step={card.step}
    >
      <div className="run-images">
        {card.status === "done" &&
          card.images.map((img, i) => (
            <figure key={imageSeed(s, i)} className="run-image">
              <RgbaCanvas image={img} label={`Generated image, seed ${imageSeed(s, i)}`} testId="generated-image" />
              <figcaption>
                seed {imageSeed(s, i)}
                <button type="button" onClick={() => void downloadPng(img, pngName(s, i))}>
                  Download PNG
                </button>
                <button type="button" onClick={() => sendToInspect(i)}>
                  Send to Inspect
                </button>
              </figcaption>
            </figure>
          ))}
        {card.status === "running" && (
          <figure className="run-image">
            {card.preview ? (
              <RgbaCanvas image={card.preview} label="Preview of the first image" testId="preview-image" />
            ) : (
              <div className="placeholder-image" />
            )}
            <figcaption>
              <progress aria-label="Generation progress" max={card.total} value={card.step} />
              step {card.step} / {card.total}
            </figcaption>
          </figure>
        )}
        {(card.status === "error" || card.status === "cancelled") && (
          <div
            className={card.status === "error" ? "error-box" : "muted"}
            role={card.status === "error" ? "alert" : "status"}
            data-testid="run-error"
          >
            {card.status === "cancelled" ? `Cancelled at step ${card.step} of ${card.total}` : card.error}
          </div>
        )}
      </div>
      <dl className="run-settings">
        {manifest &&
          describeRun(manifest, s).map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        {card.timing && (
          <div>
            <dt>time</dt>
            <dd data-testid="run-timing" data-total-ms={card.timing.totalMs} data-session-ms={card.timing.sessionMs}>
              {(card.timing.totalMs / 1000).toFixed(2)} s (
              {((card.timing.sessionMs / card.timing.totalMs) * 100).toFixed(0)}% in ONNX Runtime)
            </dd>
          </div>
        )}
      </dl>
      <div className="run-actions">
        {card.cancel ? (
          <button type="button" onClick={card.cancel}>
            Cancel
          </button>
        ) : (
          <>
            <button type="button" onClick={() => void rerun(card.id)} disabled={!manifest}>
              Re-run
            </button>
            <button type="button" onClick={() => remove(card.id)}>
              Remove
            </button>
          </>
        )}
      </div>
    </article>
  );
}
