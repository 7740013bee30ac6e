/**
 * Choose or drop one image of the pair (or the optional second reference); a file that is not an
 * image gives an error, not a crash.
 */
import { useState } from "react";
import { type Slot, useInspect } from "../../stores/inspect";
import { decodeImageFile } from "./images";

const TITLES: Record<Slot, string> = {
  reference: "Reference image",
  generated: "Generated image",
  second: "Second reference (subject B)",
};

export function ImageSlot({ slot }: { slot: Slot }) {
  const [dragging, setDragging] = useState(false);
  const current = useInspect((s) => s[slot]);
  const open = async (file: File | undefined) => {
    if (!file) return;
    try {
      useInspect.getState().setImage(slot, { rgba: await decodeImageFile(file), label: file.name });
    } catch (e) {
      useInspect.getState().setError((e as Error).message);
    }
  };
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: drop target; the file input beside it is the accessible path
    <div
      className={`dropzone inspect-slot${dragging ? " dragging" : ""}`}
      data-testid={`slot-${slot}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        void open(e.dataTransfer.files[0]);
      }}
    >
      <strong>{TITLES[slot]}</strong> <span className="muted">{current ? current.label : "none yet"}</span>
      <div>
        <label>
          Choose…{" "}
          <input
            type="file"
            accept="image/*"
            aria-label={`Choose ${TITLES[slot].toLowerCase()}`}
            onChange={(e) => void open(e.target.files?.[0])}
          />
        </label>{" "}
        <span className="muted">or drop a file here</span>
        {slot === "second" && current && (
          <>
            {" "}
            <button type="button" onClick={() => useInspect.getState().clearSecond()}>
              Remove
            </button>
          </>
        )}
      </div>
    </div>
  );
}
