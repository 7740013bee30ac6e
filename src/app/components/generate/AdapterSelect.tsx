/** The Generate tab's adapter: the pack's own, a saved training run, or an imported safetensors file. */
import { useAdapters, usePackAdapters } from "../../stores/adapters";
import { useGeneration } from "../../stores/generation";

export function AdapterSelect({ packId, value }: { packId: string; value: string }) {
  const { list, error, setError } = usePackAdapters(packId);
  const importFile = async (file: File) => {
    setError(undefined);
    try {
      const choice = await useAdapters.getState().importFile(packId, file);
      useGeneration.getState().setAdapter(choice.id);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <div className="adapter-select">
      <label>
        Adapter{" "}
        <select
          aria-label="Adapter"
          value={value}
          onFocus={() => void useAdapters.getState().refresh(packId)}
          onChange={(e) => useGeneration.getState().setAdapter(e.target.value)}
        >
          {list.length === 0 && <option value="base">base</option>}
          {list.map((a) => (
            <option key={a.id} value={a.id}>
              {a.source === "base" ? "base (the pack's own)" : a.label}
            </option>
          ))}
        </select>
      </label>{" "}
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
      {error && (
        <div className="error-box" role="alert" data-testid="adapter-error">
          {error}
        </div>
      )}
    </div>
  );
}
