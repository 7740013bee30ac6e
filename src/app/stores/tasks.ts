/**
 * Long-running work shown in the task area, and notices (errors, warnings) for the user. Every
 * long action runs through `runTask`, which owns the task's lifecycle: start, progress, cancel
 * and how it ended.
 */
import { create } from "zustand";
import { isAbortError } from "../../core/pack";

export type TaskStatus = "running" | "done" | "error" | "cancelled";

export interface Task {
  id: string;
  label: string;
  status: TaskStatus;
  /** 0..1, or null while the amount of work is unknown. */
  progress: number | null;
  detail: string;
  cancel?: () => void;
}

export interface Notice {
  id: number;
  level: "error" | "warning" | "info";
  message: string;
}

interface TasksState {
  tasks: Task[];
  notices: Notice[];
  /** Asks a running task to stop (its Cancel button); no-op for finished or uncancellable ones. */
  cancel(id: string): void;
  dismiss(id: string): void;
  notice(level: Notice["level"], message: string): void;
  dismissNotice(id: number): void;
}

let nextNotice = 1;

export const useTasks = create<TasksState>()((set, get) => ({
  tasks: [],
  notices: [],
  cancel(id) {
    get()
      .tasks.find((t) => t.id === id)
      ?.cancel?.();
  },
  dismiss(id) {
    set((s) => ({ tasks: s.tasks.filter((t) => t.id !== id) }));
  },
  notice(level, message) {
    set((s) => ({ notices: [...s.notices, { id: nextNotice++, level, message }] }));
  },
  dismissNotice(id) {
    set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
  },
}));

/** Reports progress: `fraction` 0..1, or null while the amount of work is unknown. */
export type TaskProgress = (fraction: number | null, detail: string) => void;

/** How task `id` ended, for the store that ran it to update its own state. */
export type TaskResult<T> = { id: string } & (
  | { status: "done"; value: T }
  | { status: "cancelled" }
  | { status: "error"; message: string }
);

export interface TaskOptions<T> {
  /** The detail line of a task whose work resolved; `{ failed }` for work that reports failure in its value. */
  done?: (value: T) => string | { failed: string };
  /** The detail line of a cancelled task. */
  cancelled?: string;
  /** False for work that cannot stop part-way: its task shows no Cancel button. */
  cancellable?: boolean;
}

const patchTask = (id: string, patch: (t: Task) => Partial<Task>) =>
  useTasks.setState((s) => ({ tasks: s.tasks.map((t) => (t.id === id ? { ...t, ...patch(t) } : t)) }));

/** Finished tasks kept on screen; older successes go, failures stay until dismissed. */
export const KEEP_DONE = 3;

function finish(id: string, status: Exclude<TaskStatus, "running">, detail: string) {
  patchTask(id, (t) => ({ status, detail, cancel: undefined, progress: status === "done" ? 1 : t.progress }));
  if (status !== "done") return;
  useTasks.setState((s) => {
    const done = s.tasks.filter((t) => t.status === "done");
    const drop = new Set(done.slice(0, Math.max(0, done.length - KEEP_DONE)).map((t) => t.id));
    return drop.size ? { tasks: s.tasks.filter((t) => !drop.has(t.id)) } : {};
  });
}

/**
 * Runs `work` as a task in the task area. Cancel aborts `signal`; work that stops for it rejects
 * with an AbortError (see workers/task-signals.ts), which ends the task as cancelled. Any other
 * rejection ends it as failed with the error's message. `id` is the task's, for `useTasks.cancel`.
 */
export async function runTask<T>(
  label: string,
  work: (signal: AbortSignal, progress: TaskProgress, id: string) => Promise<T>,
  { done, cancelled = "Cancelled", cancellable = true }: TaskOptions<T> = {},
): Promise<TaskResult<T>> {
  const id = crypto.randomUUID();
  const controller = new AbortController();
  const cancel = cancellable ? () => controller.abort(new DOMException("Cancelled", "AbortError")) : undefined;
  useTasks.setState((s) => ({
    tasks: [...s.tasks, { id, label, status: "running", progress: null, detail: "Starting", cancel }],
  }));
  // A progress report that arrives after the task ended must not overwrite how it ended.
  const progress: TaskProgress = (fraction, detail) =>
    patchTask(id, (t) => (t.status === "running" ? { progress: fraction, detail } : {}));
  try {
    const value = await work(controller.signal, progress, id);
    const summary = done?.(value) ?? "Done";
    if (typeof summary === "string") finish(id, "done", summary);
    else finish(id, "error", summary.failed);
    return { id, status: "done", value };
  } catch (e) {
    if (isAbortError(e)) {
      finish(id, "cancelled", cancelled);
      return { id, status: "cancelled" };
    }
    const message = (e as Error).message;
    finish(id, "error", message);
    return { id, status: "error", message };
  }
}
