/** Cancellation for worker requests: each request carries a task id the caller may cancel. */
export class TaskSignals {
  private readonly controllers = new Map<string, AbortController>();

  start(taskId: string): AbortSignal {
    if (this.controllers.has(taskId)) throw new Error(`task id "${taskId}" is already running`);
    const controller = new AbortController();
    this.controllers.set(taskId, controller);
    return controller.signal;
  }

  /** Returns false when no such task is running (already finished or never started). */
  cancel(taskId: string): boolean {
    const controller = this.controllers.get(taskId);
    if (!controller) return false;
    controller.abort(new DOMException("Cancelled", "AbortError"));
    return true;
  }

  finish(taskId: string): void {
    this.controllers.delete(taskId);
  }

  /** Runs fn with the task's signal and forgets the task when fn settles. */
  async run<T>(taskId: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = this.start(taskId);
    try {
      return await fn(signal);
    } finally {
      this.finish(taskId);
    }
  }
}
