/** "Import adapter…": a safetensors file validated against the pack and stored with the adapters. */
import { type AdapterChoice, useAdapters } from "../stores/adapters";

export function ImportAdapterButton({
  packId,
  onImported,
  onError,
}: {
  packId: string;
  onImported: (choice: AdapterChoice) => void;
  onError: (message: string | undefined) => void;
}) {
  const importFile = async (file: File) => {
    onError(undefined);
    try {
      onImported(await useAdapters.getState().importFile(packId, file));
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
        accept=".safetensors"
        hidden
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = "";
          if (file) void importFile(file);
        }}
      />
    </label>
  );
}
