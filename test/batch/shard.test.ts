import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseShard, shardOf } from '../../src/batch/shard.js';
import { UsageError } from '../../src/errors.js';

test('parseShard i/n', () => {
  assert.deepEqual(parseShard('0/3', {}), { index: 0, count: 3 });
  assert.deepEqual(parseShard(' 2 / 3 ', {}), { index: 2, count: 3 });
  assert.deepEqual(parseShard('0/1', {}), { index: 0, count: 1 });
});

test('parseShard rejects bad specs with a UsageError naming --shard', () => {
  for (const bad of ['3/3', '1/0', '-1/3', 'a/3', '1', '1/3/4', '', '1.5/3', '0/2000000', 'auto']) {
    assert.throws(() => parseShard(bad, {}), (e: unknown) => e instanceof UsageError && /--shard/.test((e as Error).message), bad);
  }
});

test('parseShard auto/n reads the array-job index in order of precedence', () => {
  assert.deepEqual(parseShard('auto/4', { JOB_COMPLETION_INDEX: '3', AWS_BATCH_JOB_ARRAY_INDEX: '1', SLURM_ARRAY_TASK_ID: '2' }), { index: 3, count: 4 });
  assert.deepEqual(parseShard('auto/4', { AWS_BATCH_JOB_ARRAY_INDEX: '1', SLURM_ARRAY_TASK_ID: '2' }), { index: 1, count: 4 });
  assert.deepEqual(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '12', SLURM_ARRAY_TASK_MIN: '10' }), { index: 2, count: 4 });
  assert.deepEqual(parseShard('AUTO/4', { SLURM_ARRAY_TASK_ID: '3' }), { index: 3, count: 4 });
  assert.deepEqual(parseShard('auto/4', { JOB_COMPLETION_INDEX: '', AWS_BATCH_JOB_ARRAY_INDEX: '0' }), { index: 0, count: 4 });
});

test('parseShard auto/n errors: nothing set, out of range, not a number', () => {
  const msg = (env: NodeJS.ProcessEnv): string => {
    try { parseShard('auto/4', env); } catch (e) { assert.ok(e instanceof UsageError); return (e as Error).message; }
    assert.fail('no error');
  };
  assert.match(msg({}), /none of JOB_COMPLETION_INDEX/);
  assert.match(msg({ JOB_COMPLETION_INDEX: '4' }), /JOB_COMPLETION_INDEX gives index 4, not below 4/);
  assert.match(msg({ JOB_COMPLETION_INDEX: 'x' }), /not a non-negative integer/);
  assert.match(msg({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '5' }), /below SLURM_ARRAY_TASK_MIN/);
});

test('shardOf is SHA-1 of the path, first 48 bits mod n (stable across machines)', () => {
  const p = 'site-a/2024-08-27/x.pcapng';
  const h = createHash('sha1').update(p).digest('hex');
  assert.equal(shardOf(p, 7), parseInt(h.slice(0, 12), 16) % 7);
  // a fixed value, so that a change of the scheme is noticed
  // fixed values (sha1('a.pcap') starts 669b21f18a8c), so that a change of the scheme is noticed
  assert.equal(shardOf('a.pcap', 10), 4);
  assert.equal(shardOf('a.pcap', 3), 2);
  assert.equal(shardOf(p, 10), 3);
  assert.equal(shardOf(p, 1), 0);
});

test('shardOf spreads paths evenly', () => {
  const n = 4, counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[shardOf(`site-${i % 17}/day-${i}.pcap`, n)]++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `uneven: ${counts.join(',')}`);
});
