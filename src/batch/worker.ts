// Worker-thread host of the batch pool. It knows nothing about captures: it imports the
// task module named in workerData, builds the task function with `createTask(init)`, and
// then runs one task per message, posting the result back.
//
// Messages (main -> worker): { id, task }; tasks are run one at a time, in order.
// Messages (worker -> main): { type: 'ready' } once, then per task
//   { type: 'done', id, result, heap } or { type: 'fail', id, message }
// where `heap` is the worker's V8 heap size in bytes after the task (for --stats).
// An exception from the task is caught and posted as 'fail'; anything worse (an uncaught
// error in a callback, running out of heap, process.exit) ends the thread, and the pool
// reports the file it was working on and starts a new worker.

import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';

export interface WorkerInit {
  /** URL (file://) of a module exporting `createTask(init): TaskFn | Promise<TaskFn>` */
  taskModule: string;
  init: unknown;
}

export type TaskFn = (task: unknown) => unknown | Promise<unknown>;

const port = parentPort;
if (port === null) throw new Error('batch worker: not started as a worker thread');
const data = workerData as WorkerInit;
const mod = (await import(data.taskModule)) as { createTask?: (init: unknown) => TaskFn | Promise<TaskFn> };
if (typeof mod.createTask !== 'function') throw new Error(`batch worker: ${data.taskModule} does not export createTask`);
const run = await mod.createTask(data.init);

// Tasks run one at a time, in the order they came (the pool may queue the next one early).
const queue: { id: number; task: unknown }[] = [];
let busy = false;

async function drain(): Promise<void> {
  busy = true;
  while (queue.length > 0) {
    const msg = queue.shift()!;
    try {
      const result = await run(msg.task);
      port!.postMessage({ type: 'done', id: msg.id, result, heap: getHeapStatistics().total_heap_size });
    } catch (e) {
      port!.postMessage({
        type: 'fail', id: msg.id,
        message: e instanceof Error ? (process.env.WIRECHECK_DEBUG ? String(e.stack) : e.message) : String(e),
      });
    }
  }
  busy = false;
}

port.on('message', (msg: { id: number; task: unknown }) => {
  queue.push(msg);
  if (!busy) void drain();
});
port.postMessage({ type: 'ready' });
