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
// stopped (its offset counts from the frame's first byte). Every frame counts at most one
// decode anomaly: its stop, or damage found on the way (an IP / UDP length that claims more than the frame or
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
// Speed: this runs on every frame (about 100-200 ns for Ethernet/IPv4/TCP; see
// test/decode/decode-speed.ts). One Packet object is reused for every frame (every field is
// reset on each call), so the Packet returned by decode() -- and its `vlans` array -- is valid
// only until the next call; the flow stage copies what it keeps. The common headers (Ethernet,
// VLAN, IPv4, IPv6 without extension headers, TCP, UDP, ICMP) are read straight from the
// buffer at the offsets their protocol files document, after those files' non-allocating
// validity tests (ipv4HeaderLenIfValid, tcpHeaderLenIfValid, udpLengthIfValid); the
// view-returning decoders are called only when a test fails, to produce the typed error, and
// for the rarer layers. No strings, closures, Map lookups or allocations on that path for
// unfragmented packets.
//
// The frame is walked where the reader left it: `frame.buf` from `frame.off` to
// `frame.off + capLen` (no per-frame view; Packet offsets are absolute in that buffer, which
// becomes `Packet.data`). The captured end is that frame end, never `buf.length`: the view
// decoders get min(claimed end, frame end) as their limit, named by limSource().

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
import { decodeIpv4, ipv4HeaderLenIfValid } from './ipv4.js';
import { decodeIpv6, decodeIpv6ExtChain, IPV6_HEADER_LEN } from './ipv6.js';
import { decodeTcp, tcpHeaderLenIfValid, TCP_MIN_HEADER_LEN } from './tcp.js';
import { decodeUdp, udpLengthIfValid } from './udp.js';
import { decodeIcmp, decodeQuotedPacket, ICMP_HEADER_LEN } from './icmp.js';
import { icmpQuotesPacket } from './icmp-names.js';
import { isIpv6ExtHeader } from './ipprotos.js';
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
    v6: false, ipOff: 0, headerLen: 0, offset: 0, more: false, protocol: 0, id: 0, dataStart: 0, dataEnd: 0, capEnd: 0,
  };
  private frameNo = 0;
  private snap = false;
  private counted = false;
  /**
   * Where the bytes being walked start and end in their buffer: the frame's
   * [frame.off, frame.off + capLen) in frame.buf, or a reassembled datagram's [0, length).
   * Offsets are absolute in the buffer; errors are rebased to `base`.
   */
  private base = 0;
  private capEnd = 0;
  /** link layer results for the frame being decoded (see link()) */
  private off = 0;
  private version = 0;
  private end = 0;
  private endSource: LenSource = 'capture';
  /** datagrams in reassembly (cached: no Map access per frame when none) */
  private fragDatagrams = 0;

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
    this.fragDatagrams = 0;
  }

  /**
   * Decode one frame. Returns null when nothing is to be handed on (a fragment held for
   * reassembly, a frame with no IP). The returned Packet (and any buffer it points at) is
   * valid until the next call. Decode stops are counted into the anomaly sink, once per frame.
   */
  decode(frame: Frame): Packet | null {
    const p = this.last;
    const buf = frame.buf;
    const base = frame.off;
    let capEnd = base + frame.capLen;
    if (capEnd > buf.length) capEnd = buf.length;       // never read outside buf
    const snap = capEnd - base < frame.origLen;
    this.base = base;
    this.capEnd = capEnd;
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
    if (this.fragDatagrams !== 0) {
      this.frag.expire(frame.tsSec * 1000 + frame.tsNsec / 1e6);
      this.fragDatagrams = this.frag.size;
    }
    if (!this.link(frame, buf)) return null;
    return this.version === 4 ? this.ipv4(frame, buf) : this.ipv6(frame, buf);
  }

  /**
   * Link layer: sets `off` (IP start), `version`, and `end` / `endSource` (an enclosing length
   * claim: PPPoE; else the captured end named 'capture'). false: nothing to hand on.
   */
  private link(frame: Frame, buf: Buffer): boolean {
    const base = this.base;
    const capEnd = this.capEnd;
    let off = base;
    let type = -1;                          // EtherType still to dispatch, -1 none
    this.end = capEnd;
    this.endSource = 'capture';
    switch (frame.linkType) {
      case LINKTYPE_ETHERNET:
        if (capEnd - base < ETHERNET_HEADER_LEN) return this.failLink(decodeEthernet(buf, base, capEnd) as DecodeError, base);
        type = (buf[base + 12] << 8) | buf[base + 13];
        off = base + ETHERNET_HEADER_LEN;
        break;
      case LINKTYPE_LINUX_SLL: {
        const s = decodeSll(buf, base, capEnd);
        if (isDecodeError(s)) return this.failLink(s, base);
        if (!s.protocolIsEtherType) return false;
        type = s.protocol;
        off = base + SLL_HEADER_LEN;
        break;
      }
      case LINKTYPE_LINUX_SLL2: {
        const s = decodeSll2(buf, base, capEnd);
        if (isDecodeError(s)) return this.failLink(s, base);
        if (!s.protocolIsEtherType) return false;
        type = s.protocol;
        off = base + SLL2_HEADER_LEN;
        break;
      }
      case LINKTYPE_NULL: case LINKTYPE_LOOP: {
        const n = decodeNull(buf, base, capEnd);
        if (isDecodeError(n)) return this.failLink(n, base);
        const v = n.ipVersion;
        if (v === 0) return false;
        this.version = v;
        this.off = base + NULL_HEADER_LEN;
        return true;
      }
      case LINKTYPE_RAW: case LINKTYPE_RAW_DLT12: case LINKTYPE_RAW_DLT14: {
        const nib = capEnd > base ? buf[base] >> 4 : 4;
        if (nib !== 4 && nib !== 6) return this.failLink(contentError('LINK_BAD_IP_VERSION', 'link', 'version', nib, 0), base);
        this.version = nib;
        this.off = base;
        return true;
      }
      case LINKTYPE_IPV4: case LINKTYPE_IPV6: {
        let version = frame.linkType === LINKTYPE_IPV4 ? 4 : 6;
        const nib = capEnd > base ? buf[base] >> 4 : version;
        if ((nib === 4 || nib === 6) && nib !== version) {
          this.anomalies.add('link', 'IP_VERSION_MISMATCH', frame.frameNo,
            `link type ${linkTypeName(frame.linkType)} frame holds an IPv${nib} packet; decoded as IPv${nib}`);
          version = nib;
        }
        this.version = version;
        this.off = base;
        return true;
      }
      default:
        this.anomalies.add('link', 'UNSUPPORTED_LINKTYPE', frame.frameNo,
          `link type ${linkTypeName(frame.linkType)} (${frame.linkType}) is not decoded`);
        return false;
    }

    // EtherType dispatch: IP, VLAN tags (bounded), PPPoE session; anything else is not IP
    if (type === ETHERTYPE_IPV4) { this.version = 4; this.off = off; return true; }
    if (type === ETHERTYPE_IPV6) { this.version = 6; this.off = off; return true; }
    let tags = 0;
    for (;;) {
      if (isVlanTpid(type)) {
        if (tags >= VLAN_MAX_TAGS) {
          this.setVlans(tags);
          return this.failLink(contentError('VLAN_TOO_MANY_TAGS', 'vlan', 'tags', tags + 1, 0), off);
        }
        if (capEnd - off < VLAN_TAG_LEN) { this.setVlans(tags); return this.failLink(decodeVlan(buf, off, capEnd) as DecodeError, off); }
        this.vlanIds[tags++] = ((buf[off] & 0x0f) << 8) | buf[off + 1];
        type = (buf[off + 2] << 8) | buf[off + 3];
        off += VLAN_TAG_LEN;
        continue;
      }
      this.setVlans(tags);
      if (type === ETHERTYPE_IPV4) { this.version = 4; this.off = off; return true; }
      if (type === ETHERTYPE_IPV6) { this.version = 6; this.off = off; return true; }
      if (type === ETHERTYPE_PPPOE_SESSION) {
        const pp = decodePppoe(buf, off, capEnd);
        if (isDecodeError(pp)) return this.failLink(pp, off);
        const v = pp.ipVersion;
        if (v === 0) return false;
        this.version = v;
        this.end = pp.claimedEnd;
        this.endSource = 'pppoe.len';
        this.off = pp.payloadStart;
        return true;
      }
      return false;
    }
  }

  private ipv4(frame: Frame, buf: Buffer): Packet | null {
    const p = this.last;
    const off = this.off;
    const end = this.end;
    const endSource = this.endSource;
    const capEnd = this.capEnd;
    const lim = end < capEnd ? end : capEnd;
    const hl = ipv4HeaderLenIfValid(buf, off, lim);
    if (hl < 0) return this.fail(decodeIpv4(buf, off, lim, this.limSource(end, endSource)) as DecodeError, off);
    let totalLen = (buf[off + 2] << 8) | buf[off + 3];
    if (totalLen === 0) totalLen = end - off;           // segmentation offload (ipv4.ts)
    const claimedEnd = off + totalLen;
    p.ipVersion = 4; p.ipOff = off; p.srcOff = off + 12; p.dstOff = off + 16;
    p.ttl = buf[off + 8]; p.ipId = (buf[off + 4] << 8) | buf[off + 5]; p.ipLen = totalLen;
    if (claimedEnd > lim) this.damage(lenError('ipv4', totalLen, lim - off, this.limSource(end, endSource)), off);
    const proto = buf[off + 9];
    // what the headers claim: the IP length, or a shorter enclosing claim (PPPoE length); the
    // captured bytes are no claim (decoders stop at them and name 'capture')
    const tEnd = endSource === 'capture' || claimedEnd < end ? claimedEnd : end;
    const tSrc: LenSource = endSource === 'capture' || claimedEnd <= end ? 'ipv4.totalLen' : endSource;
    if ((buf[off + 6] & 0x3f) === 0 && buf[off + 7] === 0) {
      return this.transport(buf, proto, off + hl, tEnd, tSrc, claimedEnd, 'ipv4.totalLen');
    }
    // a fragment
    const f = this.fragInfo;
    f.v6 = false; f.ipOff = off; f.headerLen = hl; f.offset = (((buf[off + 6] & 0x1f) << 8) | buf[off + 7]) * 8;
    f.more = (buf[off + 6] & 0x20) !== 0; f.protocol = proto; f.id = p.ipId;
    f.dataStart = off + hl; f.dataEnd = tEnd; f.capEnd = capEnd;
    const whole = this.frag.add(buf, f, frame.frameNo, frame.tsSec * 1000 + frame.tsNsec / 1e6);
    this.fragDatagrams = this.frag.size;
    if (whole === null) { this.lastHeld = true; p.proto = proto; return null; }
    // the rebuilt datagram carries the first fragment's header (fragments.ts)
    this.base = 0; this.capEnd = whole.length;
    p.data = whole; p.reassembled = true;
    p.ipOff = 0; p.srcOff = 12; p.dstOff = 16; p.ipLen = whole.length; p.ttl = whole[8];
    return this.transport(whole, whole[9], (whole[0] & 0x0f) * 4, whole.length, 'ipv4.totalLen', whole.length, 'ipv4.totalLen');
  }

  private ipv6(frame: Frame, buf: Buffer): Packet | null {
    const p = this.last;
    const off = this.off;
    const end = this.end;
    const endSource = this.endSource;
    const capEnd = this.capEnd;
    const lim = end < capEnd ? end : capEnd;
    if (lim - off < IPV6_HEADER_LEN || (buf[off] & 0xf0) !== 0x60) {
      return this.fail(decodeIpv6(buf, off, lim, this.limSource(end, endSource)) as DecodeError, off);
    }
    const plen = (buf[off + 4] << 8) | buf[off + 5];
    const totalLen = plen === 0 ? end - off : IPV6_HEADER_LEN + plen;   // 0: jumbogram / offload (ipv6.ts)
    const claimedEnd = off + totalLen;
    p.ipVersion = 6; p.ipOff = off; p.srcOff = off + 8; p.dstOff = off + 24;
    p.ttl = buf[off + 7]; p.ipLen = totalLen;
    if (claimedEnd > lim) this.damage(lenError('ipv6', totalLen, lim - off, this.limSource(end, endSource)), off);
    const tEnd = endSource === 'capture' || claimedEnd < end ? claimedEnd : end;
    const tSrc: LenSource = endSource === 'capture' || claimedEnd <= end ? 'ipv6.payloadLen' : endSource;
    const nh = buf[off + 6];
    if (!isIpv6ExtHeader(nh)) return this.transport(buf, nh, off + IPV6_HEADER_LEN, tEnd, tSrc, claimedEnd, 'ipv6.payloadLen');
    const chain = decodeIpv6ExtChain(buf, off + IPV6_HEADER_LEN, nh, tEnd < capEnd ? tEnd : capEnd, this.limSource(tEnd, tSrc));
    if (isDecodeError(chain)) { this.stopAt(chain, off + IPV6_HEADER_LEN); return p; }
    const fo = chain.fragmentHeaderOff;
    if (fo < 0) return this.transport(buf, chain.protocol, chain.payloadStart, tEnd, tSrc, claimedEnd, 'ipv6.payloadLen');
    // a fragment
    const id = ((buf[fo + 4] << 24) >>> 0) + ((buf[fo + 5] << 16) | (buf[fo + 6] << 8) | buf[fo + 7]);
    p.ipId = id;
    const f = this.fragInfo;
    f.v6 = true; f.ipOff = off; f.headerLen = IPV6_HEADER_LEN;
    f.offset = (((buf[fo + 2] << 8) | buf[fo + 3]) >> 3) * 8; f.more = (buf[fo + 3] & 1) !== 0;
    f.protocol = chain.protocol; f.id = id; f.dataStart = chain.payloadStart; f.dataEnd = tEnd; f.capEnd = capEnd;
    const whole = this.frag.add(buf, f, frame.frameNo, frame.tsSec * 1000 + frame.tsNsec / 1e6);
    this.fragDatagrams = this.frag.size;
    if (whole === null) { this.lastHeld = true; p.proto = chain.protocol; return null; }
    this.base = 0; this.capEnd = whole.length;
    p.data = whole; p.reassembled = true;
    p.ipOff = 0; p.srcOff = 8; p.dstOff = 24; p.ipLen = whole.length; p.ttl = whole[7];
    const wEnd = whole.length;
    const inner = decodeIpv6ExtChain(whole, IPV6_HEADER_LEN, whole[6], wEnd, 'ipv6.payloadLen');
    if (isDecodeError(inner)) { this.stopAt(inner, IPV6_HEADER_LEN); return p; }
    if (inner.fragmentHeaderOff >= 0) {
      this.stopAt(contentError('IPV6_EXT_NESTED_FRAGMENT', 'ipv6-ext', 'nextHeader', 44, 0), inner.fragmentHeaderOff);
      return p;
    }
    return this.transport(whole, inner.protocol, inner.payloadStart, wEnd, 'ipv6.payloadLen', wEnd, 'ipv6.payloadLen');
  }

  /**
   * Transport layer at `l4Off` in `buf`. `tEnd` / `tSrc`: the segment's claimed end and the
   * field that claims it; `ipClaimedEnd` / `ipSource`: the IP packet's own claim (for UDP's
   * length check).
   */
  private transport(buf: Buffer, proto: number, l4Off: number, tEnd: number, tSrc: LenSource,
    ipClaimedEnd: number, ipSource: LenSource): Packet {
    const p = this.last;
    const bufEnd = this.capEnd;
    const l4End = tEnd < bufEnd ? tEnd : bufEnd;
    p.proto = proto;
    p.l4Off = l4Off;
    p.l4End = l4End > l4Off ? l4End : l4Off;
    switch (proto) {
      case IPPROTO_TCP: {
        const hl = tcpHeaderLenIfValid(buf, l4Off, l4End);
        if (hl < 0) {
          this.partialTcp(buf, l4Off, l4End, tEnd);
          this.stopAt(decodeTcp(buf, l4Off, l4End, this.limSource(tEnd, tSrc)) as DecodeError, l4Off);
          return p;
        }
        const o = l4Off;
        p.srcPort = (buf[o] << 8) | buf[o + 1];
        p.dstPort = (buf[o + 2] << 8) | buf[o + 3];
        p.seq = ((buf[o + 4] << 24) >>> 0) + ((buf[o + 5] << 16) | (buf[o + 6] << 8) | buf[o + 7]);
        p.ack = ((buf[o + 8] << 24) >>> 0) + ((buf[o + 9] << 16) | (buf[o + 10] << 8) | buf[o + 11]);
        p.tcpFlags = buf[o + 13];
        p.window = (buf[o + 14] << 8) | buf[o + 15];
        p.tcpHdrLen = hl;
        p.payloadOff = o + hl; p.payloadEnd = l4End; p.payloadLen = tEnd - o - hl;
        return p;
      }
      case IPPROTO_UDP: {
        const v6 = p.ipVersion === 6;
        const len = udpLengthIfValid(buf, l4Off, l4End, v6);
        if (len < 0) {
          if (l4End - l4Off >= 4) { p.srcPort = (buf[l4Off] << 8) | buf[l4Off + 1]; p.dstPort = (buf[l4Off + 2] << 8) | buf[l4Off + 3]; }
          p.payloadOff = p.payloadEnd = p.l4End;
          this.stopAt(decodeUdp(buf, l4Off, l4End, this.limSource(tEnd, tSrc), v6) as DecodeError, l4Off);
          return p;
        }
        p.srcPort = (buf[l4Off] << 8) | buf[l4Off + 1];
        p.dstPort = (buf[l4Off + 2] << 8) | buf[l4Off + 3];
        const claimedEnd = len === 0 ? tEnd : l4Off + len;          // 0: IPv6 jumbogram (udp.ts)
        if (claimedEnd > ipClaimedEnd) this.damage(lenError('udp', len, ipClaimedEnd - l4Off, ipSource), l4Off);
        const stop = claimedEnd < tEnd ? claimedEnd : tEnd;
        const claimed = claimedEnd < ipClaimedEnd ? claimedEnd : ipClaimedEnd;
        p.payloadOff = l4Off + 8; p.payloadEnd = stop < bufEnd ? stop : bufEnd; p.payloadLen = claimed - l4Off - 8;
        return p;
      }
      case IPPROTO_ICMP: case IPPROTO_ICMPV6: {
        const v6 = proto === IPPROTO_ICMPV6;
        if (l4End - l4Off < ICMP_HEADER_LEN) {
          if (l4End - l4Off >= 2) { p.icmpType = buf[l4Off]; p.icmpCode = buf[l4Off + 1]; }
          p.payloadOff = p.payloadEnd = p.l4End;
          this.stopAt(decodeIcmp(buf, l4Off, l4End, this.limSource(tEnd, tSrc), v6) as DecodeError, l4Off);
          return p;
        }
        const type = buf[l4Off];
        p.icmpType = type; p.icmpCode = buf[l4Off + 1];
        p.payloadOff = l4Off + ICMP_HEADER_LEN; p.payloadEnd = l4End; p.payloadLen = tEnd - l4Off - ICMP_HEADER_LEN;
        if (icmpQuotesPacket(type, v6)) {
          const q = decodeQuotedPacket(buf, l4Off + ICMP_HEADER_LEN, l4End, this.limSource(tEnd, 'icmp.quoted'), v6);
          if (isDecodeError(q)) this.stopAt(q, l4Off + ICMP_HEADER_LEN);
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

  /**
   * Which limit binds reads that stop at min(end, capEnd): the field claiming `end`, or the
   * captured bytes (bounds.ts limitSource, with the frame's end for the buffer's). The view
   * decoders are called with that min as their `end` and this as its source, so they never
   * look past the frame in a buffer that holds others, and name the limit as for a frame
   * of its own.
   */
  private limSource(end: number, endSource: LenSource): LenSource {
    return end <= this.capEnd ? endSource : 'capture';
  }

  /** Count one decode anomaly per frame; snap-length cuts are not anomalies. */
  private record(e: DecodeError): void {
    if (this.counted) return;
    if (this.snap && isLenError(e) && e.lenSource === 'capture') return;
    this.counted = true;
    this.anomalies.addDecodeError(e, this.frameNo);
  }

  /** `at`: where the decoder that found `e` started (absolute); errors are frame-relative */
  private damage(e: DecodeError, at: number): void {
    this.record(addOffset(e, at - this.base));
  }

  private stopAt(e: DecodeError, at: number): void {
    const r = addOffset(e, at - this.base);
    this.last.stop = r;
    this.lastStop = r;
    this.record(r);
  }

  private fail(e: DecodeError, at: number): null {
    this.stopAt(e, at);
    return null;
  }

  private failLink(e: DecodeError, at: number): false {
    this.stopAt(e, at);
    return false;
  }
}
