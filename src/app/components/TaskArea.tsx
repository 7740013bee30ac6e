/** Running and finished tasks with progress bars and cancel buttons, plus notices. */
import { useTasks } from "../stores/tasks";

export function TaskArea() {
  const { tasks, notices, dismiss, dismissNotice } = useTasks();
  if (!tasks.length && !notices.length) return null;
  return (
    <section className="task-area" aria-label="Tasks">
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.level}`} role={n.level === "error" ? "alert" : "status"}>
          <span>{n.message}</span>
          <button type="button" onClick={() => dismissNotice(n.id)} aria-label="Dismiss notice">
            ×
          </button>
        </div>
      ))}
      {tasks.map((t) => (
        <div key={t.id} className={`task ${t.status}`} data-status={t.status}>
          <div className="task-head">
            <strong>{t.label}</strong>
            <span className="task-status">{statusText[t.status]}</span>
            {t.cancel ? (
              <button type="button" onClick={t.cancel}>
                Cancel
              </button>
            ) : (
              <button type="button" onClick={() => dismiss(t.id)} aria-label={`Dismiss ${t.label}`}>
                ×
              </button>
            )}
          </div>
          <progress
            aria-label={t.label}
            max={1}
            value={t.progress ?? undefined}
            aria-valuenow={t.progress === null ? undefined : Math.round(t.progress * 100)}
          />
          <div className="task-detail" role={t.status === "error" ? "alert" : undefined}>
            {t.detail}
          </div>
        </div>
      ))}
    </section>
  );
}

const statusText = { running: "Running", done: "Done", error: "Failed", cancelled: "Cancelled" } as const;
