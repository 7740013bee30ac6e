/** What the inference worker found about WebGPU, WASM threads and cores. */
import { create } from "zustand";
import type { ComputeEnv } from "../../../workers/inference-api";
import { inference } from "../services/workers";

interface ComputeState {
  env?: ComputeEnv;
  error?: string;
  probe(): Promise<void>;
}

export const useCompute = create<ComputeState>()((set) => ({
  async probe() {
    try {
      set({ env: await inference.call((api) => api.environment()), error: undefined });
    } catch (e) {
      set({ error: (e as Error).message });
    }
  },
}));

// A restarted inference worker probes again, so the header never keeps a stale error.
inference.onCrash(() => void useCompute.getState().probe());
