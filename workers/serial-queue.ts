/**
 * Runs async jobs one after another. onnxruntime-web must not create sessions or run them
 * concurrently on one backend, so every ORT call in the inference worker goes through one queue.
 * Each job starts in a task of its own: a WASM run blocks the worker's thread and resolves in a
 * microtask, so without this a loop of runs (a generation) would never let a message through,
 * cancel included, until it ended.
 */

/** Resolves in a new task (a MessageChannel message: no timer clamping), after pending messages. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
    port2.close();
  });
}

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const start = () => nextTask().then(job);
    const result = this.tail.then(start, start);
    // A failed job must not block the jobs queued behind it.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
