// --shard i/n: split one archive over the n tasks of an array job with no coordinator.
//
// A file belongs to shard `shardOf(path, n)`, where path is its POSIX path relative to the
// argument it was found under (the report's input.path). The hash is SHA-1 of the UTF-8
// path; its first 48 bits, read as an unsigned big-endian integer, modulo n. It depends on
// nothing but the path and n, so every machine computes the same split.
//
// --shard auto/n takes i from the array-job environment: JOB_COMPLETION_INDEX (Kubernetes
// Indexed Job), else AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch), else SLURM_ARRAY_TASK_ID minus
// SLURM_ARRAY_TASK_MIN (Slurm; MIN is taken as 0 when unset).

import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

export interface Shard {
  index: number;
  count: number;
}

export const MAX_SHARDS = 1_000_000;

function intOrUndefined(s: string | undefined): number | undefined {
  if (s === undefined || !/^\s*\d+\s*$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Which environment variable gave the index for auto (for messages), and the index. */
export function shardIndexFromEnv(env: NodeJS.ProcessEnv): { index: number; from: string } | { error: string } {
  const pick = (name: string): { index: number; from: string } | { error: string } | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = intOrUndefined(v);
    return n === undefined ? { error: `${name} is not a non-negative integer: '${v}'` } : { index: n, from: name };
  };
  const k8s = pick('JOB_COMPLETION_INDEX');
  if (k8s) return k8s;
  const aws = pick('AWS_BATCH_JOB_ARRAY_INDEX');
  if (aws) return aws;
  const id = env.SLURM_ARRAY_TASK_ID;
  if (id !== undefined && id !== '') {
    const n = intOrUndefined(id);
    if (n === undefined) return { error: `SLURM_ARRAY_TASK_ID is not a non-negative integer: '${id}'` };
    const minText = env.SLURM_ARRAY_TASK_MIN;
    const min = minText === undefined || minText === '' ? 0 : intOrUndefined(minText);
    if (min === undefined) return { error: `SLURM_ARRAY_TASK_MIN is not a non-negative integer: '${minText}'` };
    if (n < min) return { error: `SLURM_ARRAY_TASK_ID (${n}) is below SLURM_ARRAY_TASK_MIN (${min})` };
    return { index: n - min, from: 'SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN' };
  }
  return { error: 'none of JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, SLURM_ARRAY_TASK_ID is set' };
}

/** Parse '--shard i/n' or 'auto/n'. Throws UsageError naming the flag. */
export function parseShard(spec: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const m = /^\s*(auto|\d+)\s*\/\s*(\d+)\s*$/i.exec(spec);
  if (!m) throw new UsageError(`--shard: expected i/n (e.g. 0/4) or auto/n, got '${spec}'`);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new UsageError(`--shard: the number of shards must be from 1 to ${MAX_SHARDS}, got '${m[2]}'`);
  }
  let index: number;
  if (m[1].toLowerCase() === 'auto') {
    const r = shardIndexFromEnv(env);
    if ('error' in r) throw new UsageError(`--shard auto/${count}: ${r.error}`);
    index = r.index;
    if (index >= count) throw new UsageError(`--shard auto/${count}: ${r.from} gives index ${index}, not below ${count}`);
  } else {
    index = Number(m[1]);
    if (!Number.isSafeInteger(index) || index >= count) {
      throw new UsageError(`--shard: index ${m[1]} is not below the number of shards ${count} (indexes count from 0)`);
    }
  }
  return { index, count };
}

/** The shard (0..count-1) of a POSIX relative path. */
export function shardOf(posixPath: string, count: number): number {
  if (count <= 1) return 0;
  const h = createHash('sha1').update(posixPath, 'utf8').digest();
  return h.readUIntBE(0, 6) % count;
}
