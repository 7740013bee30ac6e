/**
 * Owns one web worker behind a comlink proxy. If the worker crashes or fails to load, calls in
 * flight are rejected (instead of hanging), the crash is reported, and a fresh worker is started,
 * unless it keeps crashing, in which case the host gives up rather than loop.
 */
import * as Comlink from "comlink";

/** More crashes than this within CRASH_WINDOW_MS stop the restarts. */
const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 60_000;

export class WorkerCrashedError extends Error {
  constructor(workerName: string, detail: string, restarted: boolean) {
    super(
      restarted
        ? `The ${workerName} worker crashed (${detail}); it was restarted. Retry the operation.`
        : `The ${workerName} worker keeps crashing (${detail}); reload the page to try again.`,
    );
    this.name = "WorkerCrashedError";
  }
}

/** A worker API whose long requests carry a task id that `cancel` stops (workers/task-signals.ts). */
export interface CancellableApi {
  cancel(taskId: string): Promise<boolean>;
}

export class WorkerHost<Api extends CancellableApi> {
  private worker!: Worker;
  private remote!: Comlink.Remote<Api>;
  private crashed!: Promise<never>;
  private rejectCrashed!: (e: Error) => void;
  private readonly crashListeners: ((error: WorkerCrashedError) => void)[] = [];
  private crashTimes: number[] = [];
  private givenUp?: WorkerCrashedError;

  constructor(
    readonly name: string,
    private readonly create: () => Worker,
  ) {
    this.start();
  }

  /** Called after a crash, once the replacement worker (if any) has been started. */
  onCrash(listener: (error: WorkerCrashedError) => void): void {
    this.crashListeners.push(listener);
  }

  private start(): void {
    this.crashed = new Promise<never>((_, reject) => {
      this.rejectCrashed = reject;
    });
    this.crashed.catch(() => undefined); // observed through call(); avoid an unhandled rejection
    this.worker = this.create();
    const fail = (detail: string) => this.handleCrash(detail);
    this.worker.addEventListener("error", (e) => {
      e.preventDefault();
      fail(e.message || "the worker script failed to load or threw outside a request");
    });
    this.worker.addEventListener("messageerror", () => fail("a message could not be deserialized"));
    this.remote = Comlink.wrap<Api>(this.worker);
  }

  private handleCrash(detail: string): void {
    const now = performance.now();
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    const restart = this.crashTimes.length <= MAX_CRASHES;
    const error = new WorkerCrashedError(this.name, detail, restart);
    this.rejectCrashed(error);
    this.worker.terminate();
    if (restart) this.start();
    else this.givenUp = error;
    for (const listener of this.crashListeners) listener(error);
  }

  /**
   * Ends the worker now, as a crash would end it but without counting as one: calls in flight
   * reject, and a fresh worker takes the next call. E.g. a test that kills a run mid-write.
   */
  terminate(): void {
    this.rejectCrashed(new WorkerCrashedError(this.name, "terminated", true));
    this.worker.terminate();
    this.start();
  }

  /** Calls the worker; rejects with WorkerCrashedError if the worker dies before answering. */
  call<R>(fn: (api: Comlink.Remote<Api>) => Promise<R>): Promise<R> {
    if (this.givenUp) return Promise.reject(this.givenUp);
    return Promise.race([fn(this.remote), this.crashed]);
  }

  /** Calls a long request under a fresh task id; aborting `signal` cancels it in the worker. */
  async callCancellable<R>(
    signal: AbortSignal,
    fn: (api: Comlink.Remote<Api>, taskId: string) => Promise<R>,
  ): Promise<R> {
    signal.throwIfAborted();
    const taskId = crypto.randomUUID();
    const cancel = () => void this.call((api) => api.cancel(taskId));
    signal.addEventListener("abort", cancel);
    try {
      return await this.call((api) => fn(api, taskId));
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  }
}
