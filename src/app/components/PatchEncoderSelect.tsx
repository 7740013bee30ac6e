/**
 * The patch encoder a Dataset build or a comparison's `patch_quality` runs: the pack's own, or one
 * of its enhanced encoders (Train tab, Encoder) — same graph and grid, so their maps line up.
 */
import { useEffect } from "react";
import { enhancedLabel, useEnhance } from "../stores/enhance";

export function PatchEncoderSelect({
  packId,
  value,
  onChange,
  label,
}: {
  packId: string;
  /** An enhancement run id, or undefined for the pack's encoder. */
  value: string | undefined;
  onChange(runId: string | undefined): void;
  label: string;
}) {
  const runs = useEnhance((s) => s.runs).filter((r) => r.step > 0 && r.packId === packId);
  useEffect(() => void useEnhance.getState().refresh(), []);
  return (
    <label>
      Patch encoder{" "}
      <select aria-label={label} value={value ?? ""} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">the pack's patch_encoder</option>
        {runs.map((r) => (
          <option key={r.id} value={r.id}>
            {enhancedLabel(r)}
          </option>
        ))}
      </select>
    </label>
  );
}
