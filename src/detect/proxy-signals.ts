// Signatures of web proxies on the wire (domain.md §D), shared by the gotomeeting check's
// verdicts for GoToMeeting servers and for other destinations (proxy-intercepted).
//
// - Hop counts: initial TTL 64, 128 or 255 (the nearest at or above the observed TTL) minus
//   the observed TTL (p0f's "distance"). A transparent proxy answers from fewer hops than the
//   server whose address it uses.
// - Via header products. Two tiers:
//   * forward proxies only (their Via names an interception/forward proxy product):
//     Cisco WSA / IronPort, Blue Coat / ProxySG, McAfee / Skyhigh Web Gateway, Zscaler,
//     Forcepoint / Websense, Sophos, Barracuda, Netskope, Fortinet/FortiGate, Kerio,
//     Microsoft ISA/TMG, NetCache, Privoxy, tinyproxy;
//   * dual-use software that also runs as a reverse proxy or cache in front of web sites
//     (squid, Apache Traffic Server, polipo): a signal only together with a near answer.
//   Generic CDN/reverse-proxy Via values (varnish, CloudFront, "1.1 google", iChain ...) are
//   not proxy signals: they come from the server side of the connection.
// - Certificate issuers of TLS-inspection CAs: names of the same products and the words
//   proxy / inspection / interception / decrypt, and the WSA's "Untrusted Certificate
//   Warning" (Cisco doc 117792). Public CAs never use those words.

export function initialTtl(ttl: number): number {
  return ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
}

/** routers between the sender and the capture point; -1 when unknown */
export function hopsOf(ttl: number): number {
  return ttl < 0 ? -1 : initialTtl(ttl) - ttl;
}

const VIA_FORWARD = /(cisco[- ]?wsa|ironport|bluecoat|blue coat|proxysg|mcafee[- ]?web[- ]?gateway|\bmwg\b|skyhigh|zscaler|forcepoint|websense|sophos|barracuda|netskope|fortigate|fortinet|fortiproxy|kerio|\bisa server\b|forefront tmg|netcache|privoxy|tinyproxy|wsa\/\d)/i;
const VIA_DUAL = /(squid|apachetrafficserver|apache traffic server|\bats\/\d|polipo)/i;

export type ViaClass = 'forward' | 'dual' | null;

/** Which kind of proxy a Via header names (null: none we recognise as a forward proxy). */
export function classifyVia(via: string | null): ViaClass {
  if (via === null || via === '') return null;
  if (VIA_FORWARD.test(via)) return 'forward';
  if (VIA_DUAL.test(via)) return 'dual';
  return null;
}

/** The product part of a Via header, e.g. 'Cisco-WSA/12.5.1-011' from '1.1 wsa.lab.test:80 (Cisco-WSA/12.5.1-011)'. */
export function viaProduct(via: string): string {
  const m = /\(([^)]{1,80})\)/.exec(via);
  if (m !== null) return m[1];
  const parts = via.trim().split(/\s+/);
  return parts.length > 1 ? parts.slice(1).join(' ').slice(0, 80) : via.slice(0, 80);
}

const PROXY_CA = /(cisco[- ]?wsa|\bwsa\b|ironport|untrusted certificate warning|bluecoat|blue coat|proxysg|mcafee web gateway|skyhigh|zscaler|forcepoint|websense|sophos|barracuda|netskope|fortigate|fortinet|fortiproxy|kerio|palo ?alto|proxy|inspection|intercept|decrypt)/i;

/** Does a certificate issuer name a proxy / TLS-inspection CA? */
export function isProxyIssuer(issuer: string | null): boolean {
  return issuer !== null && PROXY_CA.test(issuer);
}

/** Auth schemes named by challenges ('NTLM', 'Negotiate', 'Basic realm=...' -> 'Basic'). */
export function authSchemes(challenges: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of challenges) {
    for (const part of c.split(/,\s*(?=[A-Za-z][\w-]*(?:\s|$))/)) {
      const s = part.trim().split(/\s+/)[0];
      if (s !== '' && !s.includes('=') && !out.includes(s)) out.push(s);
    }
  }
  return out;
}

/** Strip the port from a Host header value ('a.b:80' -> 'a.b', '[::1]:80' -> '::1'). */
export function hostOnly(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const close = h.indexOf(']');
    return close > 0 ? h.slice(1, close) : h;
  }
  const colon = h.indexOf(':');
  return colon >= 0 && h.indexOf(':', colon + 1) < 0 ? h.slice(0, colon) : h;
}

/**
 * First-octet prefilter for a CIDR set over IPv4 text: `v4[o]` is 1 when some range can hold an
 * address whose first octet is o. Reading the first octet of the text costs no allocation.
 */
export function firstOctetFilter(cidrs: readonly string[]): { v4: Uint8Array; v6: boolean } {
  const v4 = new Uint8Array(256);
  let v6 = false;
  for (const c of cidrs) {
    const t = c.trim();
    if (t.includes(':')) { v6 = true; continue; }
    const slash = t.indexOf('/');
    const prefix = slash >= 0 ? Number(t.slice(slash + 1)) : 32;
    const o = Number(t.split('.')[0]);
    if (!(o >= 0 && o <= 255)) continue;
    if (prefix >= 8) v4[o] = 1;
    else {
      const span = 1 << (8 - prefix);
      const base = o & ~(span - 1) & 0xff;
      for (let k = base; k < base + span && k < 256; k++) v4[k] = 1;
    }
  }
  return { v4, v6 };
}

/** Could `ip` (address text) be in the set the filter was built from? */
export function mayMatch(f: { v4: Uint8Array; v6: boolean }, ip: string): boolean {
  let o = 0;
  for (let i = 0; i < ip.length && i < 4; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) return f.v4[o] === 1;            // '.'
    if (c < 48 || c > 57) return f.v6;             // hex digit or ':' -> IPv6
    o = o * 10 + (c - 48);
  }
  return f.v6 && ip.includes(':');
}
