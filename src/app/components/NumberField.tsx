/** A labelled number input; an empty field is left alone rather than read as 0. */
export function NumberField(props: {
  label: string;
  value: number;
  min?: number;
  max?: number;
  step?: number;
  onChange: (v: number) => void;
}) {
  return (
    <label>
      {props.label}{" "}
      <input
        type="number"
        aria-label={props.label}
        value={props.value}
        min={props.min}
        max={props.max}
        step={props.step ?? "any"}
        onChange={(e) => {
          if (e.target.value !== "") props.onChange(Number(e.target.value));
        }}
      />
    </label>
  );
}
