/** Long-running work shown in the task area, and notices (errors, warnings) for the user. */
import { create } from "zustand";

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
  start(label: string, cancel?: () => void): string;
  update(id: string, progress: number | null, detail: string): void;
  finish(id: string, status: Exclude<TaskStatus, "running">, detail: string): void;
  dismiss(id: string): void;
  notice(level: Notice["level"], message: string): void;
  dismissNotice(id: number): void;
}

let nextNotice = 1;

export const useTasks = create<TasksState>()((set) => ({
  tasks: [],
  notices: [],
  start(label, cancel) {
    const id = crypto.randomUUID();
    set((s) => ({ tasks: [...s.tasks, { id, label, status: "running", progress: null, detail: "Starting", cancel }] }));
    return id;
  },
  update(id, progress, detail) {
    set((s) => ({
      tasks: s.tasks.map((t) => (t.id === id && t.status === "running" ? { ...t, progress, detail } : t)),
    }));
  },
  finish(id, status, detail) {
    set((s) => ({
      tasks: s.tasks.map((t) =>
        t.id === id ? { ...t, status, detail, cancel: undefined, progress: status === "done" ? 1 : t.progress } : t,
      ),
    }));
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
