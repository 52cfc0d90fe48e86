import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../src/batch/pool.js';
import type { FakeTask } from './fake-task.js';

const taskModule = new URL('./fake-task.js', import.meta.url).href;

interface Out { tag?: string; n: number; square?: number; thread?: number; failed?: string }

function pool(size: number, extra: { failInit?: boolean; maxOldGenerationSizeMb?: number; prefetch?: (t: FakeTask) => boolean } = {}): WorkerPool<FakeTask, Out> {
  return new WorkerPool<FakeTask, Out>({
    size,
    prefetchable: extra.prefetch,
    taskModule,
    init: { tag: 't', failInit: extra.failInit },
    maxOldGenerationSizeMb: extra.maxOldGenerationSizeMb,
    onFailure: (t, message) => ({ n: t.n, failed: message }),
  });
}

test('every task runs once, results in completion order, work spread over the workers', async () => {
  const p = pool(2);
  const got: Out[] = [];
  async function* tasks(): AsyncGenerator<FakeTask> {
    for (let n = 0; n < 40; n++) yield { n, do: 'slow' };
  }
  await p.run(tasks(), (_t, r) => { got.push(r); });
  assert.equal(got.length, 40);
  assert.deepEqual(got.map((r) => r.n).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
  for (const r of got) assert.equal(r.square, r.n * r.n);
  assert.equal(new Set(got.map((r) => r.thread)).size, 2, 'both workers worked');
  assert.equal(p.stats.workersStarted, 2);
  assert.equal(p.stats.tasks, 40);
  assert.equal(p.stats.slots.length, 2);
  assert.ok(p.stats.slots.every((s) => s.tasks > 5 && s.peakHeap > 0));
});

test('no more workers than tasks; an empty run starts none', async () => {
  const p = pool(4);
  const got: Out[] = [];
  await p.run([{ n: 1 }], (_t, r) => { got.push(r); });
  assert.equal(got.length, 1);
  assert.equal(p.stats.workersStarted, 1);
  const q = pool(4);
  await q.run([], () => assert.fail('no task'));
  assert.equal(q.stats.workersStarted, 0);
});

test('a throwing task, a worker that exits, an uncaught error: that task fails, the rest go on', async () => {
  const p = pool(2);
  const got = new Map<number, Out>();
  const tasks: FakeTask[] = [];
  for (let n = 0; n < 20; n++) tasks.push({ n, do: n === 3 ? 'throw' : n === 7 ? 'exit' : n === 11 ? 'uncaught' : 'ok' });
  await p.run(tasks, (t, r) => { assert.ok(!got.has(t.n)); got.set(t.n, r); });
  assert.equal(got.size, 20);
  assert.match(got.get(3)!.failed!, /task 3 threw/);
  assert.match(got.get(7)!.failed!, /crashed \(worker exited with code 3\); the worker was replaced/);
  assert.match(got.get(11)!.failed!, /crashed \(stray callback error\)/);
  for (const [n, r] of got) if (![3, 7, 11].includes(n)) assert.equal(r.square, n * n);
  assert.equal(p.stats.workersLost, 2);
  assert.ok(p.stats.workersStarted >= 3);
});

test('a worker over its heap limit fails its task only', async () => {
  const p = pool(1, { maxOldGenerationSizeMb: 32 });
  const got: Out[] = [];
  await p.run([{ n: 1 }, { n: 2, do: 'oom' }, { n: 3 }], (_t, r) => { got.push(r); });
  assert.deepEqual(got.map((r) => r.n), [1, 2, 3]);
  assert.match(got[1].failed!, /out of memory \(worker heap limit 32 MiB\)/);
  assert.equal(got[2].square, 9);
});

test('a worker that cannot start rejects the run (instead of failing every task)', async () => {
  const p = pool(2, { failInit: true });
  await assert.rejects(p.run([{ n: 1 }, { n: 2 }, { n: 3 }], () => undefined), /batch worker failed to start: init failed on purpose/);
});

test('an error from the result handler stops the run and is reported', async () => {
  const p = pool(2);
  let seen = 0;
  await assert.rejects(p.run(Array.from({ length: 50 }, (_, n) => ({ n })), () => { if (++seen === 5) throw new Error('disk full'); }), /disk full/);
  assert.ok(seen < 50);
});

test('prefetch: every task once, with a worker crash while a task waits behind the crashing one', async () => {
  const p = pool(2, { prefetch: () => true });
  const got = new Map<number, Out>();
  const tasks: FakeTask[] = [];
  for (let n = 0; n < 30; n++) tasks.push({ n, do: n === 4 || n === 17 ? 'exit' : n === 9 ? 'throw' : 'slow', ms: 5 });
  await p.run(tasks, (t, r) => { assert.ok(!got.has(t.n), `task ${t.n} twice`); got.set(t.n, r); });
  assert.equal(got.size, 30);
  for (const [n, r] of got) {
    if (n === 4 || n === 17) assert.match(r.failed!, /worker exited with code 3/);
    else if (n === 9) assert.match(r.failed!, /task 9 threw/);
    else assert.equal(r.square, n * n, `task ${n}: ${JSON.stringify(r)}`);
  }
  assert.equal(p.stats.workersLost, 2);
});

test('prefetch: nothing waits behind a big task while another worker is free', async () => {
  const tasks: FakeTask[] = [{ n: 0, do: 'slow', ms: 600, big: true }];
  for (let n = 1; n <= 8; n++) tasks.push({ n, do: 'slow', ms: 10 });
  const run = async (prefetch: (t: FakeTask) => boolean): Promise<Map<number, Out>> => {
    const got = new Map<number, Out>();
    await pool(2, { prefetch }).run(tasks, (t, r) => { got.set(t.n, r); });
    return got;
  };
  const smart = await run((t) => !t.big);
  const bigThread = smart.get(0)!.thread;
  for (let n = 1; n <= 8; n++) assert.notEqual(smart.get(n)!.thread, bigThread, `task ${n} ran behind the big one`);
  // the control: prefetching behind everything queues a small task behind the big one
  const naive = await run(() => true);
  const behind = [...naive.entries()].filter(([n, r]) => n > 0 && r.thread === naive.get(0)!.thread);
  assert.ok(behind.length >= 1, 'the control should show the effect');
});
