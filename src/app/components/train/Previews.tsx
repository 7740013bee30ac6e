/** Samples on fixed held-out seeds with the run's adapter, every K steps, newest last. */
import type { Manifest } from "../../../core/pack";
import { PREVIEW_SEEDS, useTraining } from "../../stores/training";
import { RgbaCanvas } from "../generate/RgbaCanvas";

export function Previews({ manifest }: { manifest: Manifest }) {
  const previews = useTraining((s) => s.previews);
  const subject = manifest.gallery?.heldout[0] ?? manifest.gallery?.train[0];
  if (!previews.length) return null;
  return (
    <section className="train-previews" data-testid="train-previews" data-count={previews.length}>
      <h3>
        Previews: {subject?.name ?? "—"}, seeds {PREVIEW_SEEDS.join(", ")}
      </h3>
      <div className="train-preview-strip">
        {previews.map((p) => (
          <figure key={p.step}>
            {p.images.map((im, i) => (
              <RgbaCanvas key={String(i)} image={im} label={`step ${p.step}, seed ${PREVIEW_SEEDS[i]}`} />
            ))}
            <figcaption>step {p.step}</figcaption>
          </figure>
        ))}
      </div>
    </section>
  );
}
