#!/usr/bin/env bash
# Records the dns-protection scenario captures with real network stacks in network
# namespaces, then rewrites the lab addresses into real-looking ones with the project's
# rewriter (captures/tools/rewrite.ts), so that DNS answers and ICMP-quoted headers change
# too and every checksum stays right.
#
#   sudo captures/dns-protection/record.sh [scenario ...]      (default: all)
#
# Scenarios (expected results are asserted by test/scenarios/dns-protection.test.ts):
#   unprotected                 firewall DROPs UDP/TCP 53+443 to both resolvers (the seed's picture)
#   rejected-port-unreachable   firewall REJECTs them with ICMP port unreachable
#   rejected-admin-prohibited   firewall REJECTs them with ICMP communication administratively prohibited
#   all-answered                nothing blocked: both resolvers answer the TXT probes on 53 and 443
#   unencrypted                 UDP/53 allowed, UDP/443 dropped (roaming module: "unencrypted")
#   ipv6                        IPv6 probes: UDP/443 dropped, UDP/53 rejected by ICMPv6
#   tcp                         UDP answered; DNS over TCP: 53 dropped to one resolver, 443 reset by it, other answered
#   intercepted                 a firewall DNATs UDP/53 to the resolvers to its own DNS server, which answers REFUSED
#
# Topology (namespace prefix wcd, lab block 10.31.0.0/16 and fd00:31::/32):
#
#   wcd-cli  10.31.1.2  fd00:31:1::2          the PC (roaming-module probes with dig, web and LAN DNS)
#      | veth wcd-c0 <-> wcd-f0                capture point: wcd-c0, like the PC's own interface
#   wcd-fw   10.31.1.1  fd00:31:1::1          gateway, perimeter firewall (iptables), LAN DNS (dnsmasq)
#      | veth wcd-f1 <-> wcd-s0
#   wcd-srv  10.31.2.22 10.31.2.20            "Umbrella resolvers" (dnsmasq on 53 and on 443, UDP+TCP)
#            fd00:31:2::35 fd00:31:2::53
#            10.31.2.80 fd00:31:2::80          a web server (python http.server)
#
# Only addresses inside these namespaces are used on the wire. Real addresses (208.67.222.222,
# 2620:119:35::35, ...) appear only in the rewritten files (address map: addresses.map).
#
# Raw recordings go to $RAW_DIR (default: a temporary directory, removed at exit unless
# KEEP_RAW=1); they are never committed. The rewriter is run from $REWRITE (default:
# dist/captures/tools/rewrite.js, built with `npx tsc -p .` when missing). Timestamps are
# moved so the first frame is at $SHIFT_TIME (default 2024-08-27T03:07:40Z, the seed's day).
# OUT_DIR=/somewhere writes the rewritten captures there instead of beside this script.

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
MAP_FILE="$HERE/addresses.map"
OUT_DIR="${OUT_DIR:-$HERE}"   # where the rewritten captures go (default: beside this script)
REWRITE="${REWRITE:-$REPO/dist/captures/tools/rewrite.js}"
ALL_SCENARIOS=(unprotected rejected-port-unreachable rejected-admin-prohibited all-answered unencrypted ipv6 tcp intercepted)

if [[ $(id -u) -ne 0 ]]; then echo "record.sh: needs root (network namespaces, iptables)" >&2; exit 2; fi
for tool in ip iptables ip6tables tcpdump dig dnsmasq curl python3 timeout; do
  command -v "$tool" >/dev/null || { echo "record.sh: $tool is missing" >&2; exit 2; }
done

SCENARIOS=("$@")
[[ ${#SCENARIOS[@]} -eq 0 ]] && SCENARIOS=("${ALL_SCENARIOS[@]}")
for s in "${SCENARIOS[@]}"; do
  [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || { echo "record.sh: unknown scenario '$s' (one of: ${ALL_SCENARIOS[*]})" >&2; exit 2; }
done

RAW_DIR="${RAW_DIR:-}"
OWN_RAW=0
if [[ -z "$RAW_DIR" ]]; then RAW_DIR="$(mktemp -d /tmp/wcd-raw.XXXXXX)"; OWN_RAW=1; fi
mkdir -p "$RAW_DIR"
RUN_DIR="$(mktemp -d /tmp/wcd-run.XXXXXX)"

NS_CLI=wcd-cli NS_FW=wcd-fw NS_SRV=wcd-srv
PIDS=()

cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null || true; done
  PIDS=()
  for ns in "$NS_CLI" "$NS_FW" "$NS_SRV"; do ip netns del "$ns" 2>/dev/null || true; done
}
final_cleanup() {
  cleanup
  rm -rf "$RUN_DIR"
  if [[ $OWN_RAW -eq 1 && "${KEEP_RAW:-0}" != 1 ]]; then rm -rf "$RAW_DIR"; fi
}
trap final_cleanup EXIT
trap 'exit 130' INT TERM

in_cli() { ip netns exec "$NS_CLI" "$@"; }
in_fw()  { ip netns exec "$NS_FW" "$@"; }
in_srv() { ip netns exec "$NS_SRV" "$@"; }

# lab addresses
CLI4=10.31.1.2 GW4=10.31.1.1 FWO4=10.31.2.1
R1=10.31.2.22 R2=10.31.2.20 WEB4=10.31.2.80 WEB6=fd00:31:2::80
CLI6=fd00:31:1::2 GW6=fd00:31:1::1 FWO6=fd00:31:2::1
R6A=fd00:31:2::35 R6B=fd00:31:2::53

setup_topology() {
  cleanup
  for ns in "$NS_CLI" "$NS_FW" "$NS_SRV"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done
  ip -n "$NS_CLI" link add wcd-c0 type veth peer name wcd-f0 netns "$NS_FW"
  ip -n "$NS_FW" link add wcd-f1 type veth peer name wcd-s0 netns "$NS_SRV"
  # client
  ip -n "$NS_CLI" addr add "$CLI4/24" dev wcd-c0
  ip -n "$NS_CLI" addr add "$CLI6/64" dev wcd-c0 nodad
  ip -n "$NS_CLI" link set wcd-c0 up
  ip -n "$NS_CLI" route add default via "$GW4"
  ip -n "$NS_CLI" -6 route add default via "$GW6"
  # firewall / gateway
  ip -n "$NS_FW" addr add "$GW4/24" dev wcd-f0
  ip -n "$NS_FW" addr add "$GW6/64" dev wcd-f0 nodad
  ip -n "$NS_FW" addr add "$FWO4/24" dev wcd-f1
  ip -n "$NS_FW" addr add "$FWO6/64" dev wcd-f1 nodad
  ip -n "$NS_FW" link set wcd-f0 up
  ip -n "$NS_FW" link set wcd-f1 up
  in_fw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
  # "internet" side: the resolvers and a web server
  for a in "$R1" "$R2" "$WEB4"; do ip -n "$NS_SRV" addr add "$a/24" dev wcd-s0; done
  for a in "$R6A" "$R6B" "$WEB6"; do ip -n "$NS_SRV" addr add "$a/64" dev wcd-s0 nodad; done
  ip -n "$NS_SRV" link set wcd-s0 up
  ip -n "$NS_SRV" route add default via "$FWO4"
  ip -n "$NS_SRV" -6 route add default via "$FWO6"
}

start_bg() {   # start_bg <logname> <namespace> <cmd...>: a daemon whose pid we own (ip netns exec execs it)
  local log="$RUN_DIR/$1.log" ns="$2"; shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  PIDS+=("$!")
}

dnsmasq_args() {   # dnsmasq_args <name> <port>
  echo --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
    --user=root --group=root --pid-file="$RUN_DIR/$1.pid" --port="$2" --log-facility=-
}

start_servers() {
  local port
  # the two Umbrella-like resolver instances (dnsmasq serves one port per instance; UDP and TCP)
  for port in 53 443; do
    # shellcheck disable=SC2046
    start_bg "resolver-$port" "$NS_SRV" dnsmasq $(dnsmasq_args "resolver-$port" "$port") \
      --listen-address="$R1" --listen-address="$R2" --listen-address="$R6A" --listen-address="$R6B" \
      --txt-record=debug.opendns.com,"server m1.lab","flags 20 0 2F0 0","id 0" \
      --txt-record=2.dnscrypt-cert.opendns.com,"DNSC lab certificate"
  done
  # the LAN resolver on the gateway: ordinary names for the background traffic
  # shellcheck disable=SC2046
  start_bg lan-dns "$NS_FW" dnsmasq $(dnsmasq_args lan-dns 53) --listen-address="$GW4" --listen-address="$GW6" \
    --host-record=www.example.com,"$WEB4","$WEB6" --host-record=intranet.lab.local,"$GW4"
  start_bg web "$NS_SRV" python3 -m http.server 80 --bind "$WEB4" --directory "$RUN_DIR"
  echo "lab page" >"$RUN_DIR/index.html"
  local i
  for i in $(seq 1 50); do   # wait (bounded) until every server listens
    if in_srv dig +short +tries=1 +time=1 @"$R1" -p 443 TXT debug.opendns.com >/dev/null 2>&1 &&
       in_fw dig +short +tries=1 +time=1 @"$GW4" A www.example.com >/dev/null 2>&1 &&
       in_srv timeout 1 curl -s -o /dev/null "http://$WEB4/"; then return 0; fi
    sleep 0.1
  done
  echo "record.sh: servers did not come up" >&2; cat "$RUN_DIR"/*.log >&2; return 1
}

# firewall policy per scenario (FORWARD chain of wcd-fw)
apply_firewall() {
  local s="$1" t
  case "$s" in
    unprotected)
      for t in udp tcp; do
        in_fw iptables -A FORWARD -d "$R1,$R2" -p "$t" -m multiport --dports 53,443 -j DROP
      done ;;
    rejected-port-unreachable)
      in_fw iptables -A FORWARD -d "$R1,$R2" -p udp -m multiport --dports 53,443 -j REJECT --reject-with icmp-port-unreachable ;;
    rejected-admin-prohibited)
      in_fw iptables -A FORWARD -d "$R1,$R2" -p udp -m multiport --dports 53,443 -j REJECT --reject-with icmp-admin-prohibited ;;
    all-answered) ;;
    unencrypted)
      in_fw iptables -A FORWARD -d "$R1,$R2" -p udp --dport 443 -j DROP ;;
    ipv6)
      in_fw ip6tables -A FORWARD -d "$R6A,$R6B" -p udp --dport 443 -j DROP
      in_fw ip6tables -A FORWARD -d "$R6A" -p udp --dport 53 -j REJECT --reject-with icmp6-port-unreachable
      in_fw ip6tables -A FORWARD -d "$R6B" -p udp --dport 53 -j REJECT --reject-with icmp6-adm-prohibited ;;
    tcp)
      in_fw iptables -A FORWARD -d "$R1" -p tcp --dport 53 -j DROP
      in_fw iptables -A FORWARD -d "$R1" -p tcp --dport 443 -j REJECT --reject-with tcp-reset ;;
    intercepted)
      # a DNS-intercepting firewall: UDP/53 to the resolvers goes to its own DNS server, which
      # refuses names it does not serve; UDP/443 passes
      in_fw iptables -t nat -A PREROUTING -i wcd-f0 -d "$R1,$R2" -p udp --dport 53 -j DNAT --to-destination "$GW4:53" ;;
  esac
}

# one DNS probe like the roaming module's: a TXT query, one try, 2 s timeout
probe() {   # probe <server> <port> <name> [extra dig args]
  local server="$1" port="$2" name="$3"; shift 3
  in_cli timeout 8 dig +tries=1 +time=2 +noall +answer @"$server" -p "$port" TXT "$name" "$@" >>"$RUN_DIR/probes.log" 2>&1 || true
}

# ordinary traffic beside the problem: LAN DNS lookups (A/AAAA) and a web fetch
background() {   # background <round>
  local addr
  in_cli timeout 4 dig +tries=1 +time=1 +short @"$GW4" AAAA www.example.com >/dev/null 2>&1 || true
  addr="$(in_cli timeout 4 dig +tries=1 +time=1 +short @"$GW4" A www.example.com 2>/dev/null | head -1 || true)"
  if [[ -n "$addr" ]]; then
    in_cli timeout 4 curl -s -o /dev/null -H 'Host: www.example.com' "http://$addr/?r=$1" || true
  fi
  if (( $1 % 2 == 0 )); then
    in_cli timeout 4 dig +tries=1 +time=1 +short @"$GW4" A intranet.lab.local >/dev/null 2>&1 || true
  fi
}

# the roaming module's probe pattern: port 443 to both resolvers, then port 53 (seed: 5 s apart;
# here compressed to 2.5 s), repeated; three rounds
probe_rounds_v4() {   # probe_rounds_v4 [dig args...]
  local round
  for round in 1 2 3; do
    probe "$R1" 443 2.dnscrypt-cert.opendns.com "$@" & local p1=$!
    probe "$R2" 443 2.dnscrypt-cert.opendns.com "$@" & local p2=$!
    background "$round"
    sleep 1.5
    probe "$R1" 53 debug.opendns.com "$@" & local p3=$!
    probe "$R2" 53 debug.opendns.com "$@" & local p4=$!
    wait "$p1" "$p2" "$p3" "$p4" || true
    sleep 1
  done
}

probe_rounds_v6() {
  local round
  for round in 1 2 3; do
    probe "$R6A" 443 2.dnscrypt-cert.opendns.com & local p1=$!
    probe "$R6B" 443 2.dnscrypt-cert.opendns.com & local p2=$!
    background "$round"
    sleep 1.5
    probe "$R6A" 53 debug.opendns.com & local p3=$!
    probe "$R6B" 53 debug.opendns.com & local p4=$!
    wait "$p1" "$p2" "$p3" "$p4" || true
    sleep 1
  done
}

probe_tcp() {
  local round
  for round in 1 2; do
    # UDP probes are answered in this scenario
    probe "$R1" 443 2.dnscrypt-cert.opendns.com & local p1=$!
    probe "$R2" 53 debug.opendns.com & local p2=$!
    background "$round"
    # DNS over TCP (the module and DNSCrypt fall back to TCP)
    probe "$R1" 53 debug.opendns.com +tcp & local p3=$!
    probe "$R1" 443 2.dnscrypt-cert.opendns.com +tcp & local p4=$!
    probe "$R2" 53 debug.opendns.com +tcp & local p5=$!
    wait "$p1" "$p2" "$p3" "$p4" "$p5" || true
    sleep 1
  done
}

record_one() {
  local s="$1" raw="$RAW_DIR/$1.raw.pcap"
  echo "== $s"
  setup_topology
  start_servers
  apply_firewall "$s"
  : >"$RUN_DIR/probes.log"
  rm -f "$raw"
  start_bg tcpdump "$NS_CLI" tcpdump -Z root -i wcd-c0 -n -s 0 -U -w "$raw"
  local tcpdump_pid="${PIDS[-1]}"
  local i
  for i in $(seq 1 50); do grep -q "listening on" "$RUN_DIR/tcpdump.log" && break; sleep 0.1; done
  sleep 0.5
  case "$s" in
    ipv6) probe_rounds_v6 ;;
    tcp) probe_tcp ;;
    *) probe_rounds_v4 ;;
  esac
  # keep recording past the DNS timeout (5 s) so the last probes are judged, with background traffic
  for i in 1 2 3; do background $((i + 10)); sleep 2; done
  sleep 0.5
  kill -TERM "$tcpdump_pid" 2>/dev/null || true   # tcpdump flushes and closes the file on TERM
  for i in $(seq 1 50); do kill -0 "$tcpdump_pid" 2>/dev/null || break; sleep 0.1; done
  cleanup
  echo "   raw: $(tcpdump -r "$raw" -n 2>/dev/null | wc -l) packets"
}

ensure_rewriter() {
  if [[ ! -f "$REWRITE" ]]; then
    echo "record.sh: building the rewriter (npx tsc -p .)" >&2
    (cd "$REPO" && npx tsc -p . >/dev/null 2>&1 || true)
  fi
  [[ -f "$REWRITE" ]] || { echo "record.sh: rewriter not found at $REWRITE" >&2; exit 2; }
}

rewrite_one() {
  local s="$1" raw="$RAW_DIR/$1.raw.pcap" out="$OUT_DIR/$1.pcap"
  # UDP/TCP 443 to the resolvers is DNS too; timestamps moved to the seed's day; MACs anonymized
  node "$REWRITE" "$raw" "$out" --map-file "$MAP_FILE" --dns-port 443 \
    --shift-time "${SHIFT_TIME:-2024-08-27T03:07:40Z}" --mac-anon --format pcap --quiet
  echo "   wrote $out ($(stat -c %s "$out") bytes)"
}

ensure_rewriter
for s in "${SCENARIOS[@]}"; do
  record_one "$s"
  rewrite_one "$s"
done
