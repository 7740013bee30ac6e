/** The Generate tab's adapter: the pack's own, a saved training run, or an imported safetensors file. */
import { adapterLabel, useAdapters, usePackAdapters } from "../../stores/adapters";
import { useGeneration } from "../../stores/generation";
import { ImportAdapterButton } from "../ImportAdapterButton";

export function AdapterSelect({ packId, value }: { packId: string; value: string }) {
  const { list, error, setError } = usePackAdapters(packId);
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
              {adapterLabel(a)}
            </option>
          ))}
        </select>
      </label>{" "}
      <ImportAdapterButton
        packId={packId}
        onImported={(choice) => useGeneration.getState().setAdapter(choice.id)}
        onError={setError}
      />
      {error && (
        <div className="error-box" role="alert" data-testid="adapter-error">
          {error}
        </div>
      )}
    </div>
  );
}
