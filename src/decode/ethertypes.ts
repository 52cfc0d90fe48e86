// EtherType numbers -> names, lossless (`UNKNOWN_<n>`, n in decimal). Values <= 1500 in the
// Ethernet type field are IEEE 802.3 lengths, not types (see ethernet.ts).

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;        // IEEE 802.1Q C-tag
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_PPPOE_DISCOVERY = 0x8863;
export const ETHERTYPE_PPPOE_SESSION = 0x8864;
export const ETHERTYPE_QINQ = 0x88a8;        // IEEE 802.1ad S-tag
export const ETHERTYPE_QINQ_OLD = 0x9100;    // pre-standard QinQ S-tag
export const ETHERTYPE_MAX_LENGTH = 1500;    // <= this: an 802.3 length field

const NAMES: Record<number, string> = {
  0x0800: 'IPV4', 0x0806: 'ARP', 0x0842: 'WAKE_ON_LAN', 0x22f0: 'AVTP', 0x22f3: 'TRILL',
  0x6003: 'DECNET', 0x8035: 'RARP', 0x809b: 'APPLETALK', 0x80f3: 'AARP', 0x8100: 'VLAN',
  0x8137: 'IPX', 0x8204: 'QNX', 0x86dd: 'IPV6', 0x8808: 'FLOW_CONTROL', 0x8809: 'SLOW_PROTOCOLS',
  0x8819: 'COBRANET', 0x8847: 'MPLS', 0x8848: 'MPLS_MULTICAST', 0x8863: 'PPPOE_DISCOVERY',
  0x8864: 'PPPOE_SESSION', 0x887b: 'HOMEPLUG', 0x888e: 'EAPOL', 0x8892: 'PROFINET',
  0x889a: 'HYPERSCSI', 0x88a2: 'ATA_OVER_ETHERNET', 0x88a4: 'ETHERCAT', 0x88a8: 'QINQ',
  0x88ab: 'POWERLINK', 0x88b8: 'GOOSE', 0x88b9: 'GSE', 0x88ba: 'SV', 0x88cc: 'LLDP',
  0x88cd: 'SERCOS_III', 0x88e1: 'HOMEPLUG_AV', 0x88e3: 'MRP', 0x88e5: 'MACSEC',
  0x88e7: 'PBB', 0x88f7: 'PTP', 0x88f8: 'NC_SI', 0x88fb: 'PRP', 0x8902: 'CFM',
  0x8906: 'FCOE', 0x8914: 'FCOE_INIT', 0x8915: 'ROCE', 0x891d: 'TTE', 0x893a: 'IEEE1905',
  0x892f: 'HSR', 0x9000: 'LOOPBACK', 0x9100: 'QINQ_OLD', 0xcafe: 'LLT',
};

export function etherTypeName(n: number): string {
  return NAMES[n] ?? `UNKNOWN_${n}`;
}

/** true for the tag types that carry an 802.1Q-style TCI + inner EtherType (0x8100, 0x88a8, 0x9100). */
export function isVlanTpid(t: number): boolean {
  return t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ || t === ETHERTYPE_QINQ_OLD;
}
