// A pool of worker threads that runs independent tasks (batch: one capture file each).
//
// - `size` workers at most, started lazily (never more than there are tasks).
// - A worker analyses one task at a time, so its memory is bounded by one file's analysis;
//   each worker may also get a V8 heap limit (`maxOldGenerationSizeMb`).
// - Prefetch: while a worker runs a task that `prefetchable(task)` calls small, the next task
//   is already queued in that worker, so it never waits for the main thread between small
//   files. After a big task nothing is queued behind it, so no task waits behind a long one
//   while another worker is free.
// - Tasks are pulled from an async iterable as workers need them, so discovery and analysis
//   overlap.
// - A task that throws, or a worker that dies (uncaught error, heap limit, exit), never
//   stops the run: `onFailure(task, message)` turns it into that task's result, a fresh
//   worker is started, and a task that was queued behind it is run there. Only a worker
//   that cannot even start (its module fails to load) makes `run` reject, since every later
//   task would fail the same way.
// - Results are handed to `onResult` in each worker's completion order; `run` waits for a
//   returned promise before that worker's loop goes on (backpressure from the output).

import { Worker } from 'node:worker_threads';
import type { WorkerInit } from './worker.js';

export interface PoolOptions<T, R> {
  size: number;
  /** module exporting createTask(init) (a file:// URL string) */
  taskModule: string;
  init: unknown;
  /** the result to report for a task whose worker failed */
  onFailure(task: T, message: string): R;
  /** may the next task be queued behind this one in the same worker? (default: never) */
  prefetchable?(task: T): boolean;
  /** V8 old-generation limit per worker, MiB (undefined: Node's default) */
  maxOldGenerationSizeMb?: number;
  /** worker host module (default: ./worker.js next to this file) */
  workerUrl?: URL;
}

export interface PoolStats {
  workersStarted: number;
  workersLost: number;
  tasks: number;
  /** per worker slot: tasks done and the largest V8 heap seen after a task (bytes) */
  slots: { tasks: number; peakHeap: number }[];
}

type Reply =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: unknown; heap: number }
  | { type: 'fail'; id: number; message: string };

interface Pending<T, R> {
  id: number;
  task: T;
  resolve(r: R): void;
  reject(e: Error): void;
}

/** One worker thread (replaced when it dies) and the tasks sent to it, oldest first. */
class Slot<T, R> {
  worker: Worker | null = null;
  tasks = 0;
  peakHeap = 0;
  private readonly pending: Pending<T, R>[] = [];
  private starting: Promise<void> | null = null;
  private readyWait: { resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly pool: WorkerPool<T, R>) {}

  /** Start a worker (once, however many callers wait for it). */
  private ensureStarted(): Promise<void> {
    if (this.worker !== null && this.readyWait === null) return Promise.resolve();
    if (this.starting !== null) return this.starting;
    const o = this.pool.options;
    const workerData: WorkerInit = { taskModule: o.taskModule, init: o.init };
    const w = new Worker(o.workerUrl ?? new URL('./worker.js', import.meta.url), {
      workerData,
      resourceLimits: o.maxOldGenerationSizeMb ? { maxOldGenerationSizeMb: o.maxOldGenerationSizeMb } : undefined,
    });
    this.worker = w;
    this.pool.stats.workersStarted++;
    this.starting = new Promise<void>((resolve, reject) => { this.readyWait = { resolve, reject }; })
      .finally(() => { this.starting = null; });
    w.on('message', (m: Reply) => this.onMessage(w, m));
    w.on('error', (e: Error & { code?: string }) => this.onDeath(w, describeDeath(e, o.maxOldGenerationSizeMb)));
    w.on('exit', (code) => this.onDeath(w, `worker exited with code ${code}`));
    return this.starting;
  }

  private onMessage(w: Worker, m: Reply): void {
    if (w !== this.worker) return;
    if (m.type === 'ready') {
      const r = this.readyWait;
      this.readyWait = null;
      r?.resolve();
      return;
    }
    // the worker runs its tasks in order: the answer is for the oldest
    const p = this.pending[0];
    if (p === undefined || p.id !== m.id) return;
    this.pending.shift();
    if (m.type === 'done') {
      if (m.heap > this.peakHeap) this.peakHeap = m.heap;
      p.resolve(m.result as R);
    } else {
      p.resolve(this.pool.options.onFailure(p.task, m.message));
    }
  }

  private onDeath(w: Worker, why: string): void {
    if (w !== this.worker) return;   // an old worker's late event
    this.worker = null;
    void w.terminate();
    if (this.readyWait) {
      const r = this.readyWait;
      this.readyWait = null;
      const err = new Error(`batch worker failed to start: ${why}`);
      r.reject(err);
      for (const p of this.pending.splice(0)) p.reject(err);
      return;
    }
    this.pool.stats.workersLost++;
    // the oldest task was running: it is the one that failed
    const failed = this.pending.shift();
    if (failed) failed.resolve(this.pool.options.onFailure(failed.task, `the analysis crashed (${why}); the worker was replaced`));
    // tasks queued behind it never started: run them on a new worker
    const queued = this.pending.splice(0);
    if (queued.length > 0) {
      this.ensureStarted().then(
        () => { for (const p of queued) this.post(p); },
        (e: Error) => { for (const p of queued) p.reject(e); },
      );
    }
  }

  private post(p: Pending<T, R>): void {
    this.pending.push(p);
    this.worker!.postMessage({ id: p.id, task: p.task });
  }

  /** Run a task in this slot's worker (queued behind the tasks already sent). */
  async exec(id: number, task: T): Promise<R> {
    await this.ensureStarted();
    this.tasks++;
    return new Promise<R>((resolve, reject) => this.post({ id, task, resolve, reject }));
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

function describeDeath(e: Error & { code?: string }, limitMb: number | undefined): string {
  if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return `out of memory${limitMb ? ` (worker heap limit ${limitMb} MiB)` : ''}`;
  }
  return e.message || String(e);
}

export class WorkerPool<T, R> {
  readonly stats: PoolStats = { workersStarted: 0, workersLost: 0, tasks: 0, slots: [] };
  private readonly slots: Slot<T, R>[] = [];
  private nextId = 1;
  private stopping = false;

  constructor(readonly options: PoolOptions<T, R>) {
    if (!(options.size >= 1)) throw new RangeError('WorkerPool: size must be at least 1');
  }

  /** Finish the tasks in progress, start no more (e.g. on Ctrl-C); run() then resolves. */
  stop(): void {
    this.stopping = true;
  }

  /** Run every task; resolves when all results were handed to onResult. */
  async run(tasks: AsyncIterable<T> | Iterable<T>, onResult: (task: T, result: R) => void | Promise<void>): Promise<void> {
    const it: AsyncIterator<T> | Iterator<T> = Symbol.asyncIterator in tasks
      ? (tasks as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (tasks as Iterable<T>)[Symbol.iterator]();
    // pulls are serialized: one next() at a time whatever the iterator is
    let pulling: Promise<IteratorResult<T>> = Promise.resolve({ done: false, value: undefined as unknown as T });
    let exhausted = false;
    const end: IteratorResult<T> = { done: true, value: undefined };
    const pull = (): Promise<IteratorResult<T>> => {
      pulling = pulling.then((): Promise<IteratorResult<T>> => (exhausted ? Promise.resolve(end) : Promise.resolve(it.next())))
        .then((r) => { if (r.done) exhausted = true; return r; });
      return pulling;
    };
    const prefetchable = this.options.prefetchable ?? (() => false);
    let failure: unknown = null;

    const loop = async (slot: Slot<T, R>): Promise<void> => {
      const inflight: { task: T; result: Promise<R> }[] = [];
      for (;;) {
        const stop = failure !== null || this.stopping;
        const wantMore = !stop && !exhausted &&
          (inflight.length === 0 || (inflight.length === 1 && prefetchable(inflight[0].task)));
        if (wantMore) {
          const n = await pull();
          // (a task pulled while stopping is dropped: it was never started)
          if (!n.done && !this.stopping && failure === null) {
            const result = slot.exec(this.nextId++, n.value);
            result.catch(() => undefined);   // awaited below; avoid an unhandled rejection meanwhile
            inflight.push({ task: n.value, result });
            continue;
          }
        }
        const first = inflight.shift();
        if (first === undefined) return;
        const r = await first.result;
        this.stats.tasks++;
        await onResult(first.task, r);
      }
    };

    const loops: Promise<void>[] = [];
    for (let i = 0; i < this.options.size; i++) {
      const slot = new Slot(this);
      this.slots.push(slot);
      loops.push(loop(slot).catch((e) => { if (failure === null) failure = e; }));
    }
    try {
      await Promise.all(loops);
    } finally {
      this.stats.slots = this.slots.filter((s) => s.tasks > 0).map((s) => ({ tasks: s.tasks, peakHeap: s.peakHeap }));
      await Promise.all(this.slots.map((s) => s.stop()));
      this.slots.length = 0;
      if (failure !== null && typeof it.return === 'function') await it.return();
    }
    if (failure !== null) throw failure;
  }
}
