// Options shared by analyze, live and batch: parse argv values + the JSON config file into
// an EffectiveConfig (design.md "Configuration"). Bad input gets one UsageError naming the
// key; the CLI prints it as one line and exits 2.

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ALL_CHECKS, defaultConfig, type EffectiveConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { canonicalIp, parseCidr } from '../decode/addr.js';

export type OutputFormat = 'table' | 'json' | 'ndjson';

export interface AnalysisOptionValues {
  format?: string;
  checks?: string;
  client?: string[];
  config?: string;
  resolver?: string[];
  swg?: string[];
  gtm?: string[];
  dnsTimeout?: string;
  maxFlows?: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Add the analysis options (checks and their targets, output format) to a command. */
export function addAnalysisOptions(cmd: Command): Command {
  return cmd
    .option('-f, --format <format>', 'output format: table, json or ndjson', 'table')
    .option('--checks <list>', `comma-separated checks to run (default: all: ${ALL_CHECKS.join(',')})`)
    .option('--client <ip|cidr>', 'only report findings for this client (repeatable)', collect)
    .option('--config <file>', 'JSON config file (adds to the defaults; "replace": true in a section replaces them)')
    .option('--resolver <ip>', 'add an Umbrella-style resolver address to examine (repeatable)', collect)
    .option('--swg <ip|cidr>', 'add a Secure Web Gateway address or range (repeatable)', collect)
    .option('--gtm <cidr>', 'add a GoToMeeting address range (repeatable)', collect)
    .option('--dns-timeout <duration>', 'how long a DNS query may wait for its answer: seconds, or with unit ms/s (default 5s)')
    .option('--max-flows <n>', 'cap on flows tracked at once (default 262144)');
}

export function parseFormat(s: string | undefined): OutputFormat {
  const f = (s ?? 'table').toLowerCase();
  if (f === 'table' || f === 'json' || f === 'ndjson') return f;
  throw new UsageError(`--format: expected table, json or ndjson, got '${s}'`);
}

/** '5', '5s', '1500ms', '0.5s' -> milliseconds. */
export function parseDurationMs(s: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(s);
  if (!m) throw new UsageError(`${what}: expected a duration like 5, 5s or 1500ms, got '${s}'`);
  const v = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? v : unit === 'm' ? v * 60000 : v * 1000;
  if (!(ms > 0) || ms > 24 * 3600 * 1000) throw new UsageError(`${what}: out of range: '${s}'`);
  return ms;
}

function ipOrThrow(s: string, what: string): string {
  const c = canonicalIp(s);
  if (c === null) throw new UsageError(`${what}: not an IP address: '${s}'`);
  return c;
}

function cidrOrThrow(s: string, what: string): string {
  const c = parseCidr(s);
  if (c === null) throw new UsageError(`${what}: not an IP address or CIDR range: '${s}'`);
  return c.text;
}

function portOrThrow(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new UsageError(`${what}: not a port number: ${JSON.stringify(v)}`);
  }
  return v;
}

function stringArray(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new UsageError(`${what}: expected an array of strings`);
  }
  return v as string[];
}

function objectOrThrow(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`${what}: expected an object`);
  return v as Record<string, unknown>;
}

function checkKeys(o: Record<string, unknown>, allowed: string[], what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new UsageError(`${what}.${k}: unknown key (expected one of ${allowed.join(', ')})`);
  }
}

function merge<T>(base: T[], add: T[], replace: boolean): T[] {
  const out = replace ? [] : [...base];
  for (const x of add) if (!out.includes(x)) out.push(x);
  return out;
}

function parseChecks(s: string, what: string): string[] {
  const list = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const c of list) {
    if (!(ALL_CHECKS as readonly string[]).includes(c)) {
      throw new UsageError(`${what}: unknown check '${c}' (expected ${ALL_CHECKS.join(', ')})`);
    }
  }
  if (list.length === 0) throw new UsageError(`${what}: no check named`);
  return ALL_CHECKS.filter((c) => list.includes(c));
}

/** Apply a parsed JSON config file to `cfg` (in place). */
export function applyConfigFile(cfg: EffectiveConfig, raw: unknown, file = 'config'): void {
  const root = objectOrThrow(raw, file);
  checkKeys(root, ['checks', 'resolvers', 'swg', 'gotomeeting', 'timeouts', 'clients', 'maxFlows'], file);
  if (root.checks !== undefined) {
    const v = root.checks;
    cfg.checks = parseChecks(Array.isArray(v) ? stringArray(v, `${file}: checks`).join(',') : String(v), `${file}: checks`);
  }
  if (root.resolvers !== undefined) {
    const key = `${file}: resolvers`;
    let addrs: string[]; let replace = false; let ports: number[] | undefined;
    if (Array.isArray(root.resolvers)) {
      addrs = stringArray(root.resolvers, key);
    } else {
      const o = objectOrThrow(root.resolvers, key);
      checkKeys(o, ['addresses', 'ports', 'replace'], key);
      addrs = o.addresses === undefined ? [] : stringArray(o.addresses, `${key}.addresses`);
      replace = o.replace === true;
      if (o.ports !== undefined) {
        if (!Array.isArray(o.ports)) throw new UsageError(`${key}.ports: expected an array of port numbers`);
        ports = o.ports.map((p, i) => portOrThrow(p, `${key}.ports[${i}]`));
      }
    }
    cfg.resolvers.addresses = merge(cfg.resolvers.addresses, addrs.map((a, i) => ipOrThrow(a, `${key}[${i}]`)), replace);
    if (ports) cfg.resolvers.ports = merge(cfg.resolvers.ports, ports, replace);
  }
  if (root.swg !== undefined) {
    const key = `${file}: swg`;
    const o = objectOrThrow(root.swg, key);
    checkKeys(o, ['addresses', 'names', 'ports', 'replace'], key);
    const replace = o.replace === true;
    if (o.addresses !== undefined) {
      cfg.swg.addresses = merge(cfg.swg.addresses,
        stringArray(o.addresses, `${key}.addresses`).map((a, i) => cidrOrThrow(a, `${key}.addresses[${i}]`)), replace);
    } else if (replace) cfg.swg.addresses = [];
    if (o.names !== undefined) cfg.swg.names = merge(cfg.swg.names, stringArray(o.names, `${key}.names`).map((n) => n.toLowerCase()), replace);
    else if (replace) cfg.swg.names = [];
    if (o.ports !== undefined) {
      if (!Array.isArray(o.ports)) throw new UsageError(`${key}.ports: expected an array of port numbers`);
      cfg.swg.ports = merge(cfg.swg.ports, o.ports.map((p, i) => portOrThrow(p, `${key}.ports[${i}]`)), replace);
    }
  }
  if (root.gotomeeting !== undefined) {
    const key = `${file}: gotomeeting`;
    const o = objectOrThrow(root.gotomeeting, key);
    checkKeys(o, ['ranges', 'names', 'ports', 'replace'], key);
    const replace = o.replace === true;
    if (o.ranges !== undefined) {
      cfg.gotomeeting.ranges = merge(cfg.gotomeeting.ranges,
        stringArray(o.ranges, `${key}.ranges`).map((a, i) => cidrOrThrow(a, `${key}.ranges[${i}]`)), replace);
    } else if (replace) cfg.gotomeeting.ranges = [];
    if (o.names !== undefined) cfg.gotomeeting.names = merge(cfg.gotomeeting.names, stringArray(o.names, `${key}.names`).map((n) => n.toLowerCase()), replace);
    else if (replace) cfg.gotomeeting.names = [];
    if (o.ports !== undefined) {
      if (!Array.isArray(o.ports)) throw new UsageError(`${key}.ports: expected an array of port numbers`);
      cfg.gotomeeting.ports = merge(cfg.gotomeeting.ports, o.ports.map((p, i) => portOrThrow(p, `${key}.ports[${i}]`)), replace);
    }
  }
  if (root.timeouts !== undefined) {
    const key = `${file}: timeouts`;
    const o = objectOrThrow(root.timeouts, key);
    const names = ['dnsAnswerMs', 'tcpAttemptMs', 'udpIdleMs', 'tcpIdleMs'] as const;
    checkKeys(o, [...names], key);
    for (const n of names) {
      const v = o[n];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !(v > 0) || v > 24 * 3600 * 1000) throw new UsageError(`${key}.${n}: expected a positive number of milliseconds`);
      cfg.timeouts[n] = v;
    }
  }
  if (root.clients !== undefined) {
    cfg.clients = merge(cfg.clients, stringArray(root.clients, `${file}: clients`).map((a, i) => cidrOrThrow(a, `${file}: clients[${i}]`)), false);
  }
  if (root.maxFlows !== undefined) {
    const v = root.maxFlows;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 16 || v > 16_777_216) throw new UsageError(`${file}: maxFlows: expected an integer from 16 to 16777216`);
    cfg.maxFlows = v;
  }
}

/** Build the effective configuration: defaults, then the config file, then flags. */
export async function buildConfig(o: AnalysisOptionValues): Promise<EffectiveConfig> {
  const cfg = defaultConfig();
  if (o.config !== undefined) {
    let text: string;
    try {
      text = await readFile(o.config, 'utf8');
    } catch (e) {
      throw new UsageError(`--config: cannot read ${o.config}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`--config: ${o.config} is not valid JSON: ${(e as Error).message}`);
    }
    applyConfigFile(cfg, raw, o.config);
  }
  if (o.checks !== undefined) cfg.checks = parseChecks(o.checks, '--checks');
  cfg.resolvers.addresses = merge(cfg.resolvers.addresses, (o.resolver ?? []).map((a) => ipOrThrow(a, '--resolver')), false);
  cfg.swg.addresses = merge(cfg.swg.addresses, (o.swg ?? []).map((a) => cidrOrThrow(a, '--swg')), false);
  cfg.gotomeeting.ranges = merge(cfg.gotomeeting.ranges, (o.gtm ?? []).map((a) => cidrOrThrow(a, '--gtm')), false);
  cfg.clients = merge(cfg.clients, (o.client ?? []).map((a) => cidrOrThrow(a, '--client')), false);
  if (o.dnsTimeout !== undefined) cfg.timeouts.dnsAnswerMs = parseDurationMs(o.dnsTimeout, '--dns-timeout');
  if (o.maxFlows !== undefined) {
    const n = Number(o.maxFlows);
    if (!Number.isInteger(n) || n < 16 || n > 16_777_216) throw new UsageError(`--max-flows: expected an integer from 16 to 16777216, got '${o.maxFlows}'`);
    cfg.maxFlows = n;
  }
  return cfg;
}
