// Defaults for every check and timeout, in one place (design.md "Configuration"), and the
// effective configuration type that the CLI builds from flags + config file.
//
// Sources for the defaults: ../shared/domain.md §A (GoToMeeting ranges, names, ports),
// §B (Umbrella resolvers and ports), §C (SWG names and the anycast address).

import type { FlowTimeouts } from './flow/types.js';

export interface ResolverConfig {
  /** resolver addresses (IPv4/IPv6 text) */
  addresses: string[];
  /** transports x ports examined */
  ports: number[];
}

export interface SwgConfig {
  /** addresses or CIDR ranges that are the SWG ingress */
  addresses: string[];
  /** name patterns (glob: `*` matches any run of characters, including dots) whose DNS answers name the SWG */
  names: string[];
  ports: number[];
}

export interface GtmConfig {
  ranges: string[];
  names: string[];
  ports: number[];
}

export interface EffectiveConfig {
  checks: string[];                 // enabled checks, in run order
  resolvers: ResolverConfig;
  swg: SwgConfig;
  gotomeeting: GtmConfig;
  timeouts: FlowTimeouts;
  /** --client: limit findings to these clients (IPs or CIDRs); empty = all */
  clients: string[];
  /** flow table capacity (live flows) */
  maxFlows: number;
}

export const ALL_CHECKS = ['dns-protection', 'web-protection', 'gotomeeting'] as const;

export const DEFAULT_TIMEOUTS: FlowTimeouts = Object.freeze({
  dnsAnswerMs: 5000,
  tcpAttemptMs: 75000,
  udpIdleMs: 60000,
  tcpIdleMs: 300000,
});

/** Umbrella / Secure Access resolvers (Cisco docs 224762, 222351). */
export const DEFAULT_RESOLVERS: readonly string[] = Object.freeze([
  '208.67.222.222', '208.67.220.220', '2620:119:35::35', '2620:119:53::53',
]);
export const DEFAULT_RESOLVER_PORTS: readonly number[] = Object.freeze([53, 443]);

/** Secure Web Gateway: Secure Client's anycast default, names whose answers lead to the SWG. */
export const DEFAULT_SWG_ADDRESSES: readonly string[] = Object.freeze(['146.112.255.50']);
export const DEFAULT_SWG_NAMES: readonly string[] = Object.freeze([
  'swg-url-proxy-https*.sigproxy.qq.opendns.com',
  '*.sseproxy.qq.opendns.com',
  '*.sigproxy.aws.umbrella.com',
  'proxy.sig.umbrella.com',
]);
export const DEFAULT_SWG_PORTS: readonly number[] = Object.freeze([443, 80]);

/**
 * GoToMeeting / GoTo ranges: the 11 legacy Citrix Online ranges of Cisco doc 117808
 * (completed from the k12usa KB), the later additions listed there, and the newer GoTo
 * ranges from GoTo's minimal firewall settings (domain.md §A.2, §A.3).
 */
export const DEFAULT_GTM_RANGES: readonly string[] = Object.freeze([
  '216.115.208.0/20', '216.219.112.0/20', '66.151.158.0/24', '66.151.150.160/27',
  '66.151.115.128/26', '64.74.80.0/24', '202.173.24.0/21', '67.217.64.0/19',
  '78.108.112.0/20', '68.64.0.0/19', '206.183.100.0/22',
  '173.199.0.0/18', '103.15.16.0/22', '180.153.30.0/23', '140.207.108.0/23',
  '23.239.228.0/22', '23.239.232.0/23', '23.239.234.0/23', '23.239.236.0/23',
]);
export const DEFAULT_GTM_NAMES: readonly string[] = Object.freeze([
  'egw*.gotomeeting.com', '*.gotomeeting.com', '*.goto.com', '*.getgo.com', '*.logmein.com',
  '*.logmeininc.com', '*.citrixonline.com', '*.expertcity.com', '*.goto-rtc.com',
]);
export const DEFAULT_GTM_PORTS: readonly number[] = Object.freeze([8200, 443, 80]);

export const DEFAULT_MAX_FLOWS = 262144;

export function defaultConfig(): EffectiveConfig {
  return {
    checks: [...ALL_CHECKS],
    resolvers: { addresses: [...DEFAULT_RESOLVERS], ports: [...DEFAULT_RESOLVER_PORTS] },
    swg: { addresses: [...DEFAULT_SWG_ADDRESSES], names: [...DEFAULT_SWG_NAMES], ports: [...DEFAULT_SWG_PORTS] },
    gotomeeting: { ranges: [...DEFAULT_GTM_RANGES], names: [...DEFAULT_GTM_NAMES], ports: [...DEFAULT_GTM_PORTS] },
    timeouts: { ...DEFAULT_TIMEOUTS },
    clients: [],
    maxFlows: DEFAULT_MAX_FLOWS,
  };
}
