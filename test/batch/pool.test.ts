import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../src/batch/pool.js';
import type { FakeTask } from './fake-task.js';

const taskModule = new URL('./fake-task.js', import.meta.url).href;

interface Out { tag?: string; n: number; square?: number; thread?: number; failed?: string }

function pool(size: number, extra: { failInit?: boolean; maxOldGenerationSizeMb?: number } = {}): WorkerPool<FakeTask, Out> {
  return new WorkerPool<FakeTask, Out>({
    size,
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
