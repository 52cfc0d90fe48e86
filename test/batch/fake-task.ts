// A task module for pool tests: behaves according to the task's `do` field, so the tests
// can make a worker succeed, throw, crash its thread, hog its heap, or be slow.
export interface FakeTask {
  n: number;
  do?: 'ok' | 'throw' | 'exit' | 'uncaught' | 'oom' | 'slow';
  /** with 'slow': how long (default 30 ms) */
  ms?: number;
  /** for the pool's prefetchable() */
  big?: boolean;
}

export function createTask(init: { tag: string; failInit?: boolean }): (t: FakeTask) => Promise<unknown> | unknown {
  if (init.failInit) throw new Error('init failed on purpose');
  return async (t: FakeTask) => {
    switch (t.do) {
      case 'throw': throw new Error(`task ${t.n} threw`);
      case 'exit': process.exit(3); break;
      case 'uncaught': setImmediate(() => { throw new Error('stray callback error'); }); return new Promise(() => undefined);
      case 'oom': {
        const hog: unknown[] = [];
        for (;;) hog.push(new Array(1e5).fill({ n: t.n }));
      }
      case 'slow': await new Promise((r) => setTimeout(r, t.ms ?? 30)); break;
      default: break;
    }
    return { tag: init.tag, n: t.n, square: t.n * t.n, thread: (await import('node:worker_threads')).threadId };
  };
}
