// The packet walker: link layer -> IP (with reassembly) -> TCP / UDP / ICMP, into one Packet.
//
// Link types: Ethernet (1) with 802.1Q / 802.1ad / 0x9100 tags and PPPoE sessions, Linux
// SLL (113) and SLL2 (276), BSD loopback NULL (0) and LOOP (108), raw IP (12, 14, 101: the
// version nibble decides; 228 = IPv4, 229 = IPv6, a mismatching nibble is counted as
// `link/IP_VERSION_MISMATCH` and followed, as tshark does). Any other link type is counted as
// `link/UNSUPPORTED_LINKTYPE` once per frame. Frames that carry no IP (ARP, LLDP, 802.3/LLC,
// PPPoE discovery, PPP control, netlink, non-IP address families) are handed on as null
// without an anomaly: they are not damage.
//
// Lax decoding (conventions.md rule 5): whatever decoded is kept, and `stop` says why decoding
// stopped (offsets absolute in `data`). Every frame counts at most one decode anomaly: its
// stop, or damage found on the way (an IP / UDP length that claims more than the frame or
// packet holds, while the headers themselves decoded). A frame cut by the capture's snap
// length (capLen < origLen) is `snapTruncated` and counted in `snaplenTruncatedFrames`; a
// LenError with lenSource 'capture' on such a frame is how the capture was taken, not damage,
// and is not an anomaly. The same LenError on a frame with capLen === origLen is damage.
//
// When the transport header is cut short, the walker still fills what the captured bytes
// show, as tshark does: the ports when 4 bytes are there, and for TCP the flags, sequence
// numbers and window when the fixed 20 bytes are there but options are cut (a SYN in a
// headers-only capture stays a SYN); `stop` then holds the LenError.
//
// Null is returned for frames with nothing to hand on: no IP layer (above, or an error before
// IP was decoded) and fragments held for reassembly. The frame that completes a fragmented
// datagram yields the whole datagram (`reassembled`, `data` a fresh buffer laid out as in
// fragments.ts), as tshark shows it on that frame.
//
// Speed: this runs on every frame. One Packet object is reused for every frame (every field
// is reset on each call), so the Packet returned by decode() -- and its `vlans` array -- is
// valid only until the next call; the flow stage copies what it keeps. No strings, closures
// or Map lookups on the path for unfragmented packets.

import {
  addOffset, contentError, isLenError, lenError, type AnomalySink, type DecodeError, type LenSource,
} from '../errors.js';
import type { Frame } from '../source/types.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, type Packet } from './packet.js';
import { isDecodeError } from './bounds.js';
import { decodeEthernet, ETHERNET_HEADER_LEN } from './ethernet.js';
import { decodeVlan, VLAN_MAX_TAGS, VLAN_TAG_LEN } from './vlan.js';
import { decodeSll, SLL_HEADER_LEN } from './sll.js';
import { decodeSll2, SLL2_HEADER_LEN } from './sll2.js';
import { decodeNull, NULL_HEADER_LEN } from './null.js';
import { decodePppoe } from './pppoe.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6, decodeIpv6ExtChain, IPV6_HEADER_LEN } from './ipv6.js';
import { decodeTcp, TCP_MIN_HEADER_LEN } from './tcp.js';
import { decodeUdp } from './udp.js';
import { decodeIcmp, decodeQuotedPacket } from './icmp.js';
import { FragmentReassembler, type FragmentInfo } from './fragments.js';
import {
  ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_PPPOE_SESSION, isVlanTpid,
} from './ethertypes.js';
import {
  LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP, LINKTYPE_NULL, LINKTYPE_RAW, LINKTYPE_RAW_DLT12, LINKTYPE_RAW_DLT14, linkTypeName,
} from './linktypes.js';

export interface DecoderOptions {
  /** fragment reassembly bounds */
  maxFragDatagrams?: number;   // default 1024 datagrams in progress
  maxFragBytes?: number;       // default 8 MiB held in total
  fragTimeoutMs?: number;      // default 30000 (packet time)
}

/** The `vlans` of every packet without tags (shared, frozen). */
export const NO_VLANS: readonly number[] = Object.freeze([] as number[]);

/** A Packet with every field at its "not decoded" value. */
export function emptyPacket(): Packet {
  return {
    frameNo: 0, tsSec: 0, tsNsec: 0, data: EMPTY, snapTruncated: false, stop: null, vlans: NO_VLANS,
    ipVersion: 0, ipOff: -1, srcOff: -1, dstOff: -1, ttl: -1, ipId: -1, reassembled: false, ipLen: 0,
    proto: -1, l4Off: -1, l4End: -1, srcPort: -1, dstPort: -1,
    tcpFlags: 0, seq: 0, ack: 0, window: 0, tcpHdrLen: 0,
    payloadOff: -1, payloadEnd: -1, payloadLen: 0,
    icmpType: -1, icmpCode: -1, quoted: null,
  };
}

const EMPTY = Buffer.alloc(0);

export class FrameDecoder {
  /** frames whose capLen < origLen seen so far */
  snaplenTruncatedFrames = 0;
  /**
   * The Packet object reused for every frame. After decode() returned null it still shows how
   * far decoding got (e.g. the outer IP of a held fragment), for diagnostics and tests.
   */
  readonly last: Packet = emptyPacket();
  /** the stop of the latest frame (also when decode() returned null) */
  lastStop: DecodeError | null = null;
  /** true when the latest frame was a fragment held (or swallowed) by reassembly */
  lastHeld = false;

  private readonly frag: FragmentReassembler;
  private readonly vlanIds: number[] = [];
  private readonly fragInfo: FragmentInfo = {
    v6: false, ipOff: 0, headerLen: 0, offset: 0, more: false, protocol: 0, id: 0, dataStart: 0, dataEnd: 0,
  };
  private frameNo = 0;
  private snap = false;
  private counted = false;

  constructor(private readonly anomalies: AnomalySink, opts: DecoderOptions = {}) {
    this.frag = new FragmentReassembler(anomalies, {
      ...(opts.maxFragDatagrams !== undefined ? { maxDatagrams: opts.maxFragDatagrams } : {}),
      ...(opts.maxFragBytes !== undefined ? { maxBytes: opts.maxFragBytes } : {}),
      ...(opts.fragTimeoutMs !== undefined ? { timeoutMs: opts.fragTimeoutMs } : {}),
    });
  }

  /** datagrams in reassembly and bytes they hold */
  get fragmentStats(): { datagrams: number; bytes: number } {
    return { datagrams: this.frag.size, bytes: this.frag.heldBytes };
  }

  /**
   * End of input: drop datagrams still in reassembly, counting the incomplete ones as
   * `fragment/INCOMPLETE`. Optional; without it they are simply not reported.
   */
  finish(): void {
    this.frag.flush();
  }

  /**
   * Decode one frame. Returns null when nothing is to be handed on (a fragment held for
   * reassembly, a frame with no IP). The returned Packet (and any buffer it points at) is
   * valid until the next call. Decode stops are counted into the anomaly sink, once per frame.
   */
  decode(frame: Frame): Packet | null {
    const p = this.last;
    let buf = frame.data;
    const capEnd = buf.length;
    const snap = frame.capLen < frame.origLen || capEnd < frame.origLen;
    p.frameNo = frame.frameNo; p.tsSec = frame.tsSec; p.tsNsec = frame.tsNsec; p.data = buf;
    p.snapTruncated = snap; p.stop = null; p.vlans = NO_VLANS;
    p.ipVersion = 0; p.ipOff = -1; p.srcOff = -1; p.dstOff = -1; p.ttl = -1; p.ipId = -1;
    p.reassembled = false; p.ipLen = 0;
    p.proto = -1; p.l4Off = -1; p.l4End = -1; p.srcPort = -1; p.dstPort = -1;
    p.tcpFlags = 0; p.seq = 0; p.ack = 0; p.window = 0; p.tcpHdrLen = 0;
    p.payloadOff = -1; p.payloadEnd = -1; p.payloadLen = 0;
    p.icmpType = -1; p.icmpCode = -1; p.quoted = null;
    this.lastStop = null; this.lastHeld = false;
    this.frameNo = frame.frameNo; this.snap = snap; this.counted = false;
    if (snap) this.snaplenTruncatedFrames++;
    if (this.frag.size !== 0) this.frag.expire(frame.tsSec * 1000 + frame.tsNsec / 1e6);

    // ---- link layer -------------------------------------------------------------------
    let off = 0;
    let version = 0;
    let type = -1;                          // EtherType still to dispatch, -1 none
    let end = capEnd;                       // enclosing limit for the IP packet
    let endSource: LenSource = 'capture';
    switch (frame.linkType) {
      case LINKTYPE_ETHERNET: {
        const e = decodeEthernet(buf, 0);
        if (isDecodeError(e)) return this.fail(e, 0);
        type = e.etherType;
        off = ETHERNET_HEADER_LEN;
        break;
      }
      case LINKTYPE_LINUX_SLL: {
        const s = decodeSll(buf, 0);
        if (isDecodeError(s)) return this.fail(s, 0);
        if (!s.protocolIsEtherType) return null;
        type = s.protocol;
        off = SLL_HEADER_LEN;
        break;
      }
      case LINKTYPE_LINUX_SLL2: {
        const s = decodeSll2(buf, 0);
        if (isDecodeError(s)) return this.fail(s, 0);
        if (!s.protocolIsEtherType) return null;
        type = s.protocol;
        off = SLL2_HEADER_LEN;
        break;
      }
      case LINKTYPE_NULL: case LINKTYPE_LOOP: {
        const n = decodeNull(buf, 0);
        if (isDecodeError(n)) return this.fail(n, 0);
        version = n.ipVersion;
        if (version === 0) return null;
        off = NULL_HEADER_LEN;
        break;
      }
      case LINKTYPE_RAW: case LINKTYPE_RAW_DLT12: case LINKTYPE_RAW_DLT14: {
        const nib = capEnd > 0 ? buf[0] >> 4 : 4;
        if (nib !== 4 && nib !== 6) return this.fail(contentError('LINK_BAD_IP_VERSION', 'link', 'version', nib, 0), 0);
        version = nib;
        break;
      }
      case LINKTYPE_IPV4: case LINKTYPE_IPV6: {
        version = frame.linkType === LINKTYPE_IPV4 ? 4 : 6;
        const nib = capEnd > 0 ? buf[0] >> 4 : version;
        if ((nib === 4 || nib === 6) && nib !== version) {
          this.anomalies.add('link', 'IP_VERSION_MISMATCH', frame.frameNo,
            `link type ${linkTypeName(frame.linkType)} frame holds an IPv${nib} packet; decoded as IPv${nib}`);
          version = nib;
        }
        break;
      }
      default:
        this.anomalies.add('link', 'UNSUPPORTED_LINKTYPE', frame.frameNo,
          `link type ${linkTypeName(frame.linkType)} (${frame.linkType}) is not decoded`);
        return null;
    }

    if (type >= 0) {
      // EtherType dispatch: VLAN tags (bounded), PPPoE session, IP; anything else is not IP
      let tags = 0;
      for (;;) {
        if (type === ETHERTYPE_IPV4) { version = 4; break; }
        if (type === ETHERTYPE_IPV6) { version = 6; break; }
        if (isVlanTpid(type)) {
          if (tags >= VLAN_MAX_TAGS) {
            this.setVlans(tags);
            return this.fail(contentError('VLAN_TOO_MANY_TAGS', 'vlan', 'tags', tags + 1, 0), off);
          }
          const v = decodeVlan(buf, off);
          if (isDecodeError(v)) { this.setVlans(tags); return this.fail(v, off); }
          this.vlanIds[tags++] = v.vid;
          type = v.etherType;
          off += VLAN_TAG_LEN;
          continue;
        }
        if (type === ETHERTYPE_PPPOE_SESSION) {
          const pp = decodePppoe(buf, off);
          if (isDecodeError(pp)) { this.setVlans(tags); return this.fail(pp, off); }
          version = pp.ipVersion;
          if (version === 0) { this.setVlans(tags); return null; }
          end = pp.claimedEnd;
          endSource = 'pppoe.len';
          off = pp.payloadStart;
          break;
        }
        this.setVlans(tags);
        return null;
      }
      this.setVlans(tags);
    }

    // ---- network layer ----------------------------------------------------------------
    let proto: number;
    let l4Off: number;
    let ipClaimedEnd: number;
    let ipSource: LenSource;
    if (version === 4) {
      const ip = decodeIpv4(buf, off, end, endSource);
      if (isDecodeError(ip)) return this.fail(ip, off);
      p.ipVersion = 4; p.ipOff = off; p.srcOff = off + 12; p.dstOff = off + 16;
      p.ttl = ip.ttl; p.ipId = ip.id; p.ipLen = ip.totalLen;
      if (ip.claimedEnd > ip.payloadEnd) this.clipped('ipv4', ip.totalLen, ip.payloadEnd - off, buf, end, endSource, off);
      proto = ip.protocol;
      l4Off = ip.payloadStart;
      ipClaimedEnd = ip.claimedEnd;
      ipSource = 'ipv4.totalLen';
      if (ip.isFragment) {
        const f = this.fragInfo;
        f.v6 = false; f.ipOff = off; f.headerLen = ip.headerLen; f.offset = ip.fragmentOffset;
        f.more = ip.moreFragments; f.protocol = proto; f.id = ip.id;
        f.dataStart = l4Off; f.dataEnd = endSource === 'capture' || ipClaimedEnd < end ? ipClaimedEnd : end;
        const whole = this.frag.add(buf, f, frame.frameNo, frame.tsSec * 1000 + frame.tsNsec / 1e6);
        if (whole === null) { this.lastHeld = true; p.proto = proto; return null; }
        // the rebuilt datagram carries the first fragment's header (fragments.ts)
        buf = whole; p.data = whole; p.reassembled = true;
        off = 0; end = whole.length; endSource = 'ipv4.totalLen';
        p.ipOff = 0; p.srcOff = 12; p.dstOff = 16; p.ipLen = whole.length; p.ttl = whole[8];
        proto = whole[9]; l4Off = (whole[0] & 0x0f) * 4; ipClaimedEnd = whole.length;
      }
    } else {
      const ip = decodeIpv6(buf, off, end, endSource);
      if (isDecodeError(ip)) return this.fail(ip, off);
      p.ipVersion = 6; p.ipOff = off; p.srcOff = off + 8; p.dstOff = off + 24;
      p.ttl = ip.hopLimit; p.ipLen = ip.totalLen;
      if (ip.claimedEnd > ip.payloadEnd) this.clipped('ipv6', ip.totalLen, ip.payloadEnd - off, buf, end, endSource, off);
      ipClaimedEnd = ip.claimedEnd;
      ipSource = 'ipv6.payloadLen';
      // what the headers claim (the decoders themselves stop at the captured bytes)
      const lim = endSource === 'capture' || ipClaimedEnd < end ? ipClaimedEnd : end;
      const limSrc: LenSource = endSource === 'capture' || ipClaimedEnd <= end ? ipSource : endSource;
      const chain = decodeIpv6ExtChain(buf, off + IPV6_HEADER_LEN, ip.nextHeader, lim, limSrc);
      if (isDecodeError(chain)) { this.stopAt(chain, off + IPV6_HEADER_LEN); return p; }
      proto = chain.protocol;
      l4Off = chain.payloadStart;
      const fo = chain.fragmentHeaderOff;
      if (fo >= 0) {
        const id = ((buf[fo + 4] << 24) >>> 0) + ((buf[fo + 5] << 16) | (buf[fo + 6] << 8) | buf[fo + 7]);
        p.ipId = id;
        const f = this.fragInfo;
        f.v6 = true; f.ipOff = off; f.headerLen = IPV6_HEADER_LEN;
        f.offset = (((buf[fo + 2] << 8) | buf[fo + 3]) >> 3) * 8; f.more = (buf[fo + 3] & 1) !== 0;
        f.protocol = proto; f.id = id; f.dataStart = l4Off; f.dataEnd = lim;
        const whole = this.frag.add(buf, f, frame.frameNo, frame.tsSec * 1000 + frame.tsNsec / 1e6);
        if (whole === null) { this.lastHeld = true; p.proto = proto; return null; }
        buf = whole; p.data = whole; p.reassembled = true;
        off = 0; end = whole.length; endSource = 'ipv6.payloadLen';
        p.ipOff = 0; p.srcOff = 8; p.dstOff = 24; p.ipLen = whole.length; p.ttl = whole[7];
        ipClaimedEnd = whole.length;
        const inner = decodeIpv6ExtChain(whole, IPV6_HEADER_LEN, whole[6], end, ipSource);
        if (isDecodeError(inner)) { this.stopAt(inner, IPV6_HEADER_LEN); return p; }
        if (inner.fragmentHeaderOff >= 0) {
          this.stopAt(contentError('IPV6_EXT_NESTED_FRAGMENT', 'ipv6-ext', 'nextHeader', 44, 0), inner.fragmentHeaderOff);
          return p;
        }
        proto = inner.protocol;
        l4Off = inner.payloadStart;
      }
    }

    // ---- transport --------------------------------------------------------------------
    // claimed end of the segment: the IP length, or a shorter enclosing claim (PPPoE length);
    // the captured bytes are no claim (decoders stop at them and name 'capture')
    const tEnd = endSource === 'capture' || ipClaimedEnd < end ? ipClaimedEnd : end;
    const tSrc: LenSource = endSource === 'capture' || ipClaimedEnd <= end ? ipSource : endSource;
    const bufEnd = buf.length;
    const l4End = tEnd < bufEnd ? tEnd : bufEnd;
    p.proto = proto;
    p.l4Off = l4Off;
    p.l4End = l4End > l4Off ? l4End : l4Off;
    switch (proto) {
      case IPPROTO_TCP: {
        const t = decodeTcp(buf, l4Off, tEnd, tSrc);
        if (isDecodeError(t)) {
          this.partialTcp(buf, l4Off, l4End, tEnd);
          this.stopAt(t, l4Off);
          return p;
        }
        p.srcPort = t.srcPort; p.dstPort = t.dstPort;
        p.tcpFlags = t.flags; p.seq = t.seq; p.ack = t.ack; p.window = t.window; p.tcpHdrLen = t.headerLen;
        p.payloadOff = t.payloadStart; p.payloadEnd = t.payloadEnd; p.payloadLen = tEnd - t.payloadStart;
        return p;
      }
      case IPPROTO_UDP: {
        const u = decodeUdp(buf, l4Off, tEnd, tSrc, p.ipVersion === 6);
        if (isDecodeError(u)) {
          if (l4End - l4Off >= 4) { p.srcPort = (buf[l4Off] << 8) | buf[l4Off + 1]; p.dstPort = (buf[l4Off + 2] << 8) | buf[l4Off + 3]; }
          p.payloadOff = p.payloadEnd = p.l4End;
          this.stopAt(u, l4Off);
          return p;
        }
        p.srcPort = u.srcPort; p.dstPort = u.dstPort;
        const claimed = u.claimedEnd < ipClaimedEnd ? u.claimedEnd : ipClaimedEnd;
        if (u.claimedEnd > ipClaimedEnd) this.damage(lenError('udp', u.length, ipClaimedEnd - l4Off, ipSource), l4Off);
        p.payloadOff = l4Off + 8; p.payloadEnd = u.payloadEnd; p.payloadLen = claimed - l4Off - 8;
        return p;
      }
      case IPPROTO_ICMP: case IPPROTO_ICMPV6: {
        const v6 = proto === IPPROTO_ICMPV6;
        const ic = decodeIcmp(buf, l4Off, tEnd, tSrc, v6);
        if (isDecodeError(ic)) {
          if (l4End - l4Off >= 2) { p.icmpType = buf[l4Off]; p.icmpCode = buf[l4Off + 1]; }
          p.payloadOff = p.payloadEnd = p.l4End;
          this.stopAt(ic, l4Off);
          return p;
        }
        p.icmpType = ic.type; p.icmpCode = ic.code;
        p.payloadOff = ic.payloadStart; p.payloadEnd = ic.payloadEnd; p.payloadLen = tEnd - ic.payloadStart;
        if (ic.quotesPacket) {
          const q = decodeQuotedPacket(buf, ic.payloadStart, tEnd, 'icmp.quoted', v6);
          if (isDecodeError(q)) this.stopAt(q, ic.payloadStart);
          else p.quoted = q;
        }
        return p;
      }
      default:
        // another protocol (GRE, ESP, SCTP, IP-in-IP, ...): the IP payload is its payload
        p.payloadOff = l4Off; p.payloadEnd = p.l4End; p.payloadLen = tEnd > l4Off ? tEnd - l4Off : 0;
        return p;
    }
  }

  private setVlans(n: number): void {
    if (n === 0) return;
    this.vlanIds.length = n;
    this.last.vlans = this.vlanIds;
  }

  /** TCP header cut short: keep the ports (4 bytes) and, with the fixed 20 bytes, the rest. */
  private partialTcp(buf: Buffer, l4Off: number, l4End: number, tEnd: number): void {
    const p = this.last;
    const n = l4End - l4Off;
    p.payloadOff = p.payloadEnd = p.l4End;
    if (n < 4) return;
    p.srcPort = (buf[l4Off] << 8) | buf[l4Off + 1];
    p.dstPort = (buf[l4Off + 2] << 8) | buf[l4Off + 3];
    if (n < TCP_MIN_HEADER_LEN) return;
    const hl = (buf[l4Off + 12] >> 4) * 4;
    if (hl < TCP_MIN_HEADER_LEN) return;
    p.tcpFlags = buf[l4Off + 13];
    p.seq = ((buf[l4Off + 4] << 24) >>> 0) + ((buf[l4Off + 5] << 16) | (buf[l4Off + 6] << 8) | buf[l4Off + 7]);
    p.ack = ((buf[l4Off + 8] << 24) >>> 0) + ((buf[l4Off + 9] << 16) | (buf[l4Off + 10] << 8) | buf[l4Off + 11]);
    p.window = (buf[l4Off + 14] << 8) | buf[l4Off + 15];
    p.tcpHdrLen = hl;
    const claimed = tEnd - l4Off - hl;
    p.payloadLen = claimed > 0 ? claimed : 0;
  }

  /** An IP length claims more than the enclosing limit or the capture holds: damage unless snap-truncated. */
  private clipped(layer: 'ipv4' | 'ipv6', claimed: number, available: number, buf: Buffer, end: number,
    endSource: LenSource, base: number): void {
    const src: LenSource = end <= buf.length ? endSource : 'capture';
    this.damage(lenError(layer, claimed, available, src), base);
  }

  /** Count one decode anomaly per frame; snap-length cuts are not anomalies. */
  private record(e: DecodeError): void {
    if (this.counted) return;
    if (this.snap && isLenError(e) && e.lenSource === 'capture') return;
    this.counted = true;
    this.anomalies.addDecodeError(e, this.frameNo);
  }

  private damage(e: DecodeError, base: number): void {
    this.record(addOffset(e, base));
  }

  private stopAt(e: DecodeError, base: number): void {
    const r = addOffset(e, base);
    this.last.stop = r;
    this.lastStop = r;
    this.record(r);
  }

  private fail(e: DecodeError, base: number): null {
    this.stopAt(e, base);
    return null;
  }
}
