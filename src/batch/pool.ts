// A pool of worker threads that runs independent tasks (batch: one capture file each).
//
// - `size` workers at most, started lazily (never more than there are tasks).
// - One task per worker at a time, so a worker's memory is bounded by one file's analysis;
//   each worker may also get a V8 heap limit (`maxOldGenerationSizeMb`).
// - Tasks are pulled from an async iterable as workers become free, so discovery and
//   analysis overlap.
// - A task that throws, or a worker that dies (uncaught error, heap limit, exit), never
//   stops the run: `onFailure(task, message)` turns it into that task's result and a fresh
//   worker takes the next task. Only a worker that cannot even start (its module fails to
//   load) makes `run` reject, since every later task would fail the same way.
// - Results are handed to `onResult` in completion order; `run` waits for a returned
//   promise before giving that worker its next task (backpressure from the output).

import { Worker } from 'node:worker_threads';
import type { WorkerInit } from './worker.js';

export interface PoolOptions<T, R> {
  size: number;
  /** module exporting createTask(init) (a file:// URL string) */
  taskModule: string;
  init: unknown;
  /** the result to report for a task whose worker failed */
  onFailure(task: T, message: string): R;
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

class Slot<T, R> {
  worker: Worker | null = null;
  tasks = 0;
  peakHeap = 0;
  private pending: { id: number; task: T; resolve: (r: R) => void } | null = null;
  private readyWait: { resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly pool: WorkerPool<T, R>, readonly index: number) {}

  private start(): Promise<void> {
    const o = this.pool.options;
    const workerData: WorkerInit = { taskModule: o.taskModule, init: o.init };
    const w = new Worker(o.workerUrl ?? new URL('./worker.js', import.meta.url), {
      workerData,
      resourceLimits: o.maxOldGenerationSizeMb ? { maxOldGenerationSizeMb: o.maxOldGenerationSizeMb } : undefined,
      stdout: false,
      stderr: false,
    });
    this.worker = w;
    this.pool.stats.workersStarted++;
    const ready = new Promise<void>((resolve, reject) => { this.readyWait = { resolve, reject }; });
    w.on('message', (m: Reply) => this.onMessage(w, m));
    w.on('error', (e: Error & { code?: string }) => this.onDeath(w, describeDeath(e, o.maxOldGenerationSizeMb)));
    w.on('exit', (code) => this.onDeath(w, `worker exited with code ${code}`));
    return ready;
  }

  private onMessage(w: Worker, m: Reply): void {
    if (w !== this.worker) return;
    if (m.type === 'ready') {
      const r = this.readyWait;
      this.readyWait = null;
      r?.resolve();
      return;
    }
    const p = this.pending;
    if (p === null || p.id !== m.id) return;
    this.pending = null;
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
      r.reject(new Error(`batch worker failed to start: ${why}`));
      return;
    }
    this.pool.stats.workersLost++;
    const p = this.pending;
    this.pending = null;
    if (p) p.resolve(this.pool.options.onFailure(p.task, `the analysis crashed (${why}); the worker was replaced`));
  }

  async exec(id: number, task: T): Promise<R> {
    if (this.worker === null) await this.start();
    const w = this.worker!;
    this.tasks++;
    return new Promise<R>((resolve) => {
      this.pending = { id, task, resolve };
      w.postMessage({ id, task });
    });
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

  /** Finish the tasks in progress, start no more (e.g. on Ctrl-C); run() then resolves. */
  stop(): void {
    this.stopping = true;
  }

  constructor(readonly options: PoolOptions<T, R>) {
    if (!(options.size >= 1)) throw new RangeError('WorkerPool: size must be at least 1');
  }

  /** Run every task; resolves when all results were handed to onResult. */
  async run(tasks: AsyncIterable<T> | Iterable<T>, onResult: (task: T, result: R) => void | Promise<void>): Promise<void> {
    const it: AsyncIterator<T> | Iterator<T> = Symbol.asyncIterator in tasks
      ? (tasks as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (tasks as Iterable<T>)[Symbol.iterator]();
    // pulls are serialized: one next() at a time whatever the iterator is
    let pulling: Promise<IteratorResult<T>> = Promise.resolve({ done: false, value: undefined as unknown as T });
    let finished = false;
    const pull = (): Promise<IteratorResult<T>> => {
      const end: IteratorResult<T> = { done: true, value: undefined };
      pulling = pulling.then((): Promise<IteratorResult<T>> => (finished ? Promise.resolve(end) : Promise.resolve(it.next())))
        .then((r) => { if (r.done) finished = true; return r; });
      return pulling;
    };
    let failure: unknown = null;
    const loop = async (slot: Slot<T, R>): Promise<void> => {
      for (;;) {
        if (failure !== null || this.stopping) return;
        const n = await pull();
        if (n.done || this.stopping) return;
        const r = await slot.exec(this.nextId++, n.value);
        this.stats.tasks++;
        await onResult(n.value, r);
      }
    };
    const loops: Promise<void>[] = [];
    for (let i = 0; i < this.options.size; i++) {
      const slot = new Slot(this, i);
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
