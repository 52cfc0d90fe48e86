// IP protocol numbers (IPv4 protocol / IPv6 next header) -> names, lossless (`UNKNOWN_<n>`).
// Source: the IANA "Assigned Internet Protocol Numbers" registry.

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_IPIP = 4;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_GRE = 47;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_MOBILITY = 135;
export const IPPROTO_HIP = 139;
export const IPPROTO_SHIM6 = 140;

const NAMES: readonly string[] = (() => {
  const t: string[] = [];
  const set = (n: number, s: string): void => { t[n] = s; };
  set(0, 'HOPOPT'); set(1, 'ICMP'); set(2, 'IGMP'); set(3, 'GGP'); set(4, 'IPV4'); set(5, 'ST');
  set(6, 'TCP'); set(7, 'CBT'); set(8, 'EGP'); set(9, 'IGP'); set(12, 'PUP'); set(17, 'UDP');
  set(20, 'HMP'); set(22, 'XNS_IDP'); set(27, 'RDP'); set(29, 'ISO_TP4'); set(33, 'DCCP');
  set(36, 'XTP'); set(37, 'DDP'); set(41, 'IPV6'); set(43, 'IPV6_ROUTE'); set(44, 'IPV6_FRAG');
  set(45, 'IDRP'); set(46, 'RSVP'); set(47, 'GRE'); set(50, 'ESP'); set(51, 'AH');
  set(55, 'MOBILE'); set(58, 'IPV6_ICMP'); set(59, 'IPV6_NONXT'); set(60, 'IPV6_OPTS');
  set(88, 'EIGRP'); set(89, 'OSPF'); set(94, 'IPIP'); set(97, 'ETHERIP'); set(98, 'ENCAP');
  set(103, 'PIM'); set(108, 'IPCOMP'); set(112, 'VRRP'); set(115, 'L2TP'); set(118, 'STP');
  set(124, 'ISIS'); set(132, 'SCTP'); set(133, 'FC'); set(135, 'MOBILITY_HEADER');
  set(136, 'UDPLITE'); set(137, 'MPLS_IN_IP'); set(138, 'MANET'); set(139, 'HIP');
  set(140, 'SHIM6'); set(141, 'WESP'); set(142, 'ROHC'); set(143, 'ETHERNET');
  set(144, 'AGGFRAG'); set(145, 'NSH'); set(253, 'EXPERIMENT_253'); set(254, 'EXPERIMENT_254');
  set(255, 'RESERVED');
  return t;
})();

export function ipProtoName(n: number): string {
  return NAMES[n] ?? `UNKNOWN_${n}`;
}

/**
 * IPv6 extension headers in the generic (next header, length) layout that the walker skips
 * (RFC 7045's list; the fragment header is handled on its own, ESP and No Next Header stop).
 */
export function isIpv6ExtHeader(nh: number): boolean {
  return nh === IPPROTO_HOPOPTS || nh === IPPROTO_ROUTING || nh === IPPROTO_FRAGMENT || nh === IPPROTO_DSTOPTS
    || nh === IPPROTO_AH || nh === IPPROTO_MOBILITY || nh === IPPROTO_HIP || nh === IPPROTO_SHIM6;
}
