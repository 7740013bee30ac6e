/**
 * Runs async jobs one after another. onnxruntime-web must not create sessions or run them
 * concurrently on one backend, so every ORT call in the inference worker goes through one queue.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job, job);
    // A failed job must not block the jobs queued behind it.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
