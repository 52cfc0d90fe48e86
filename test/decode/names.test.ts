import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDecodedLinkType, linkTypeName } from '../../src/decode/linktypes.js';
import { etherTypeName } from '../../src/decode/ethertypes.js';
import { ipProtoName, isIpv6ExtHeader } from '../../src/decode/ipprotos.js';

test('link type names are libpcap names without the prefix, lossless', () => {
  assert.equal(linkTypeName(0), 'NULL');
  assert.equal(linkTypeName(1), 'ETHERNET');
  assert.equal(linkTypeName(101), 'RAW');
  assert.equal(linkTypeName(108), 'LOOP');
  assert.equal(linkTypeName(113), 'LINUX_SLL');
  assert.equal(linkTypeName(276), 'LINUX_SLL2');
  assert.equal(linkTypeName(228), 'IPV4');
  assert.equal(linkTypeName(229), 'IPV6');
  assert.equal(linkTypeName(239), 'NFLOG');
  assert.equal(linkTypeName(253), 'NETLINK');
  assert.equal(linkTypeName(10), 'FDDI');
  assert.equal(linkTypeName(127), 'IEEE802_11_RADIOTAP');
  assert.equal(linkTypeName(4242), 'UNKNOWN_4242');
  for (const lt of [0, 1, 12, 14, 101, 108, 113, 228, 229, 276]) assert.equal(isDecodedLinkType(lt), true, `${lt}`);
  for (const lt of [10, 105, 127, 239, 253, 9999]) assert.equal(isDecodedLinkType(lt), false, `${lt}`);
});

test('EtherType and IP protocol names, lossless', () => {
  assert.equal(etherTypeName(0x0800), 'IPV4');
  assert.equal(etherTypeName(0x86dd), 'IPV6');
  assert.equal(etherTypeName(0x0806), 'ARP');
  assert.equal(etherTypeName(0x88cc), 'LLDP');
  assert.equal(etherTypeName(0x8864), 'PPPOE_SESSION');
  assert.equal(etherTypeName(0x1234), 'UNKNOWN_4660');
  assert.equal(ipProtoName(6), 'TCP');
  assert.equal(ipProtoName(17), 'UDP');
  assert.equal(ipProtoName(58), 'IPV6_ICMP');
  assert.equal(ipProtoName(47), 'GRE');
  assert.equal(ipProtoName(200), 'UNKNOWN_200');
  for (const nh of [0, 43, 44, 51, 60, 135, 139, 140]) assert.equal(isIpv6ExtHeader(nh), true);
  for (const nh of [6, 17, 50, 58, 59]) assert.equal(isIpv6ExtHeader(nh), false);
});
