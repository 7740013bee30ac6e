/** Train tab: the training device check and the dataset + training panel. */
import { useState } from "react";
import type { EngineCheck } from "../../../workers/training-api";
import { callback, training } from "../services/workers";
import { useTasks } from "../stores/tasks";
import { TrainPanel } from "./train/TrainPanel";

export function TrainTab() {
  const [check, setCheck] = useState<EngineCheck>();
  const run = async () => {
    const tasks = useTasks.getState();
    const id = tasks.start("Checking the training device", () => void training.call((api) => api.cancel(id)));
    try {
      const result = await training.call((api) =>
        api.checkEngine(
          id,
          callback((p) => useTasks.getState().update(id, null, p.message)),
        ),
      );
      setCheck(result);
      useTasks.getState().finish(id, "done", `WebGPU device ready on ${result.adapter.name}`);
    } catch (e) {
      useTasks.getState().finish(id, "error", (e as Error).message);
    }
  };
  return (
    <div className="panel">
      <button type="button" onClick={() => void run()}>
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
