/** Train tab: the training device check and the dataset + training panel. */
import { useTraining } from "../stores/training";
import { TrainPanel } from "./train/TrainPanel";

export function TrainTab() {
  const check = useTraining((s) => s.engine);
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
    </div>
  );
}
