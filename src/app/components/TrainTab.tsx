/** Train tab: the training device check, the dataset + training panel, and patch-encoder enhancement. */
import { useActivePack } from "../stores/packs";
import { useTraining } from "../stores/training";
import { EncoderPanel } from "./train/EncoderPanel";
import { TrainPanel } from "./train/TrainPanel";

export function TrainTab() {
  const check = useTraining((s) => s.engine);
  const encoderPack = useActivePack({ role: "patch_encoder" });
  return (
    <div className="panel">
      <button type="button" onClick={() => void useTraining.getState().checkEngine()}>
        Check training device
      </button>
      {check && (
        <p>
          Device on <strong>{check.adapter.name}</strong>: max buffer {check.limits.maxBufferSize} bytes, max storage
          binding {check.limits.maxStorageBufferBindingSize} bytes, {check.limits.maxComputeInvocationsPerWorkgroup}{" "}
          invocations per workgroup.
        </p>
      )}
      <TrainPanel />
      {encoderPack?.manifest.roles.patch_encoder?.architecture && <EncoderPanel manifest={encoderPack.manifest} />}
    </div>
  );
}
