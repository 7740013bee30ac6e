/**
 * "Import adapter…": a safetensors file validated against the pack and stored with the adapters;
 * chosen together with a log.jsonl (what the PyTorch trainer writes beside it), the log is stored
 * too and its curves show on the Train tab.
 */
import { type AdapterChoice, useAdapters } from "../stores/adapters";

/** The adapter and the optional log among the chosen files; anything else is refused by name. */
export function adapterAndLog(files: File[]): { adapter: File; log?: File } {
  const logs = files.filter((f) => f.name.endsWith(".jsonl"));
  const others = files.filter((f) => !f.name.endsWith(".jsonl"));
  if (others.length !== 1 || logs.length > 1)
    throw new Error(
      `choose one adapter file, optionally with its log.jsonl (got ${files.map((f) => f.name).join(", ")})`,
    );
  return { adapter: others[0], log: logs[0] };
}

export function ImportAdapterButton({
  packId,
  onImported,
  onError,
}: {
  packId: string;
  onImported: (choice: AdapterChoice) => void;
  onError: (message: string | undefined) => void;
}) {
  const importFiles = async (files: File[]) => {
    onError(undefined);
    try {
      const { adapter, log } = adapterAndLog(files);
      onImported(await useAdapters.getState().importFile(packId, adapter, log));
    } catch (e) {
      onError((e as Error).message);
    }
  };
  return (
    <label className="button">
      Import adapter…
      <input
        type="file"
        aria-label="Import adapter"
        accept=".safetensors,.jsonl"
        multiple
        hidden
        onChange={(e) => {
          const files = [...(e.target.files ?? [])];
          e.target.value = "";
          if (files.length) void importFiles(files);
        }}
      />
    </label>
  );
}
