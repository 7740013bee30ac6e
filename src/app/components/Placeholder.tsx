export function Placeholder({ what }: { what: string }) {
  return (
    <div className="panel">
      <p>{what} is coming in a later issue.</p>
    </div>
  );
}
