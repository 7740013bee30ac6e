/**
 * Registered encoders (Models tab): Hugging Face / transformers.js model folders the inference
 * worker staged, checked and cached in IndexedDB; the actions that register, delete and open them.
 * Which one is chosen where (Inspect, Compare's slots) and which ONNX export runs persist in the
 * settings store.
 */
import { create } from "zustand";
import type { EncoderFolderInput } from "../../../workers/hf-encoders";
import type { UserEncoderInfo } from "../../../workers/quality-api";
import type { EncoderRecord } from "../../core/encoders/registry";
import { callback, inference } from "../services/workers";
import { useSettings } from "./settings";
import { runTask, useTasks } from "./tasks";

interface EncodersState {
  records: EncoderRecord[];
  /** Set once the list was read from the cache. */
  ready: boolean;
  /** The last failed registration, shown until the next one starts. */
  lastError?: string;
  /** Per registered id: the export that last opened, and on which provider. */
  opened: Record<string, UserEncoderInfo["registered"]>;
  refresh(): Promise<void>;
  register(source: EncoderFolderInput, label: string): Promise<EncoderRecord | undefined>;
  remove(id: string): Promise<void>;
  /** Opens a registered encoder on the current provider (and export choice); cheap when it is already open. */
  open(id: string): Promise<UserEncoderInfo>;
}

export const useEncoders = create<EncodersState>()((set, get) => ({
  records: [],
  ready: false,
  opened: {},

  async refresh() {
    try {
      set({ records: await inference.call((api) => api.registeredEncoders()), ready: true });
    } catch (e) {
      set({ ready: true });
      useTasks.getState().notice("error", `Could not read the encoder registry: ${(e as Error).message}`);
    }
  },

  async register(source, label) {
    set({ lastError: undefined });
    const result = await runTask(
      `Registering encoder ${label}`,
      (signal, progress) =>
        inference.callCancellable(signal, (api, taskId) =>
          api.registerEncoder(
            taskId,
            source,
            useSettings.getState().executionProvider,
            callback((message: string) => progress(null, message)),
          ),
        ),
      {
        done: (r) => `Registered "${r.record.id}" (${r.record.modelType}, ${r.info.registered?.file})`,
        cancelled: "Cancelled; nothing was registered",
      },
    );
    await get().refresh();
    if (result.status === "done") {
      const { record, info } = result.value;
      set((s) => ({ opened: { ...s.opened, [record.id]: info.registered } }));
      for (const note of record.notes) useTasks.getState().notice("info", `${record.id}: ${note}`);
      return record;
    }
    if (result.status === "error") set({ lastError: result.message });
    return undefined;
  },

  async remove(id) {
    await inference.call((api) => api.deleteRegisteredEncoder(id));
    useSettings.getState().forgetEncoder(id);
    set((s) => {
      const { [id]: _, ...opened } = s.opened;
      return { opened };
    });
    await get().refresh();
  },

  async open(id) {
    const { executionProvider, encoderFile } = useSettings.getState();
    const info = await inference.call((api) => api.loadRegisteredEncoder(id, executionProvider, encoderFile[id]));
    set((s) => ({ opened: { ...s.opened, [id]: info.registered } }));
    return info;
  },
}));

// A restarted inference worker has no sessions: what was open is gone (open() reopens on demand).
inference.onCrash(() => useEncoders.setState({ opened: {} }));
