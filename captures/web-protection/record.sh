#!/usr/bin/env bash
# Records the web-protection scenario captures with real network stacks in network
# namespaces, then rewrites the lab addresses offline into the real-looking ones of
# addresses.map (see captures/README.md for the rewriter).
#
#   sudo captures/web-protection/record.sh [scenario ...]     (default: all)
#
# Scenarios (each ends up as captures/web-protection/<scenario>.pcap):
#   drop-linear       firewall drops the SYNs to the SWG (18.135.112.200:443, learned from
#                     the CNAME chain of swg-url-proxy-https-sse.sigproxy.qq.opendns.com);
#                     the kernel's default SYN back-off (tcp_syn_linear_timeouts=4)
#   drop-exponential  firewall drops the SYNs to the anycast SWG 146.112.255.50 on 443 and
#                     80 (configured default, no DNS); classic exponential back-off
#                     (tcp_syn_linear_timeouts=0 in the client namespace)
#   reset             firewall rejects the SYNs to 18.135.112.200:443 with a TCP reset; the
#                     firewall is 3 router hops and ~40 ms closer to the client than the gateway
#   reset-gateway     the gateway host itself refuses 443 (no listener: its own kernel resets,
#                     from the gateway's hop count and round trip); 80 answers
#   pass              the SWG (a real TLS server) is reachable
#   mixed             443 to the SWG dropped, 80 let through
#   nxdomain          the SWG name does not resolve (NXDOMAIN)
#   ipv6-refused      dual stack: the SWG chain ends in an A and an AAAA; the firewall
#                     refuses IPv6 to the SWG with ICMPv6 "administratively prohibited",
#                     the client falls back to IPv4, which works
# Every scenario has background web traffic beside it (DNS, HTTP and HTTPS to
# www.example.test in the same /24 as the gateway).
#
# Lab (namespace prefix wcs-, addresses in 10.32.0.0/16 and fd00:32::/32 - the same
# layout with fd00:32:N::x for 10.32.N.x; nothing leaves the namespaces):
#
#   wcs-cli 10.32.1.10 --- 10.32.1.1 wcs-fw 10.32.2.1 --- 10.32.2.2 wcs-r1 10.32.3.1 ---
#   --- wcs-dly (delay-bridge.py, 20 ms each way, no addresses) ---
#   --- 10.32.3.2 wcs-r2 10.32.4.1/10.32.5.1 --- wcs-srv 10.32.4.200 (SWG), 10.32.4.17 (web),
#                                                        10.32.5.50 (anycast SWG)
#
# wcs-fw is the client's gateway, firewall and DNS server (dnsmasq, serving the SWG's CNAME
# chain under its real names); the capture is taken on the client's interface, as
# Wireshark on the PC would. The raw recordings stay in a temporary folder (or $WCS_RAW);
# only the rewritten captures are written into the repository.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="${WCS_BUILD:-$REPO/dist-swg}"
RAW="${WCS_RAW:-$(mktemp -d /tmp/wcs-raw.XXXXXX)}"
WORK="$(mktemp -d /tmp/wcs-work.XXXXXX)"
NS=(wcs-cli wcs-fw wcs-r1 wcs-dly wcs-r2 wcs-srv)
PIDS=()
LAB_V6=0

SWG_NAME=swg-url-proxy-https-sse.sigproxy.qq.opendns.com
SWG_ALIAS=swg-proxy_eu-west-2_1_1n.sigproxy.aws.umbrella.com
SWG_ELB=k8s-sigproxy-sigproxy-c8f482b42a-ddf1929ae349b3e5.elb.eu-west-2.amazonaws.com
WEB_NAME=www.example.test

[ "$(id -u)" = 0 ] || { echo "record.sh: needs root (network namespaces)" >&2; exit 2; }
# one run at a time for this prefix (the same lock captures/tools/lab.sh takes)
exec 9>/run/wirecheck-lab-wcs.lock
flock -w 600 9 || { echo "record.sh: another run holds the wcs lab lock" >&2; exit 1; }

cleanup() {
  set +e
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  PIDS=()
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
  rm -rf /etc/netns/wcs-cli
}
finish() {
  cleanup
  rm -rf "$WORK"
  [ -n "${WCS_RAW:-}" ] || rm -rf "$RAW"
}
trap finish EXIT
trap 'exit 130' INT TERM

inns() { local n="$1"; shift; ip netns exec "$n" "$@"; }
bg() { local n="$1"; shift; ip netns exec "$n" "$@" & PIDS+=("$!"); }

# $1 = 'v6' for a dual-stack lab, else IPv4 only
lab_up() {
  cleanup
  local v6=0
  [ "${1:-}" = v6 ] && v6=1
  LAB_V6=$v6
  for n in "${NS[@]}"; do
    ip netns add "$n"
    ip -n "$n" link set lo up
    if [ $v6 = 0 ]; then
      inns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    else
      # no router solicitations / autoconfiguration: static addresses and routes only
      inns "$n" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
        net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0
    fi
  done
  ip link add cli0 netns wcs-cli type veth peer name fw0 netns wcs-fw
  ip link add fw1 netns wcs-fw type veth peer name r1a netns wcs-r1
  ip link add r1b netns wcs-r1 type veth peer name d0 netns wcs-dly
  ip link add d1 netns wcs-dly type veth peer name r2a netns wcs-r2
  ip link add r2b netns wcs-r2 type veth peer name srv0 netns wcs-srv
  ip -n wcs-cli addr add 10.32.1.10/24 dev cli0
  ip -n wcs-fw addr add 10.32.1.1/24 dev fw0
  ip -n wcs-fw addr add 10.32.2.1/24 dev fw1
  ip -n wcs-r1 addr add 10.32.2.2/24 dev r1a
  ip -n wcs-r1 addr add 10.32.3.1/24 dev r1b
  ip -n wcs-r2 addr add 10.32.3.2/24 dev r2a
  ip -n wcs-r2 addr add 10.32.4.1/24 dev r2b
  ip -n wcs-r2 addr add 10.32.5.1/24 dev r2b
  ip -n wcs-srv addr add 10.32.4.200/24 dev srv0
  ip -n wcs-srv addr add 10.32.4.17/24 dev srv0
  ip -n wcs-srv addr add 10.32.5.50/24 dev srv0
  local l
  for l in wcs-cli:cli0 wcs-fw:fw0 wcs-fw:fw1 wcs-r1:r1a wcs-r1:r1b wcs-dly:d0 wcs-dly:d1 wcs-r2:r2a wcs-r2:r2b wcs-srv:srv0; do
    ip -n "${l%%:*}" link set "${l##*:}" up
  done
  ip -n wcs-cli route add default via 10.32.1.1
  ip -n wcs-fw route add default via 10.32.2.2
  ip -n wcs-r1 route add default via 10.32.3.2
  ip -n wcs-r1 route add 10.32.1.0/24 via 10.32.2.1
  ip -n wcs-r2 route add 10.32.1.0/24 via 10.32.3.1
  ip -n wcs-r2 route add 10.32.2.0/24 via 10.32.3.1
  ip -n wcs-srv route add default via 10.32.4.1
  for n in wcs-fw wcs-r1 wcs-r2; do inns "$n" sysctl -qw net.ipv4.ip_forward=1; done
  # the "internet": 20 ms each way between r1 and r2 (bounded runtime)
  bg wcs-dly python3 "$REPO/captures/tools/delay-bridge.py" d0 d1 20 180
  if [ $v6 = 1 ]; then
    ip -n wcs-cli addr add fd00:32:1::10/64 dev cli0 nodad
    ip -n wcs-fw addr add fd00:32:1::1/64 dev fw0 nodad
    ip -n wcs-fw addr add fd00:32:2::1/64 dev fw1 nodad
    ip -n wcs-r1 addr add fd00:32:2::2/64 dev r1a nodad
    ip -n wcs-r1 addr add fd00:32:3::1/64 dev r1b nodad
    ip -n wcs-r2 addr add fd00:32:3::2/64 dev r2a nodad
    ip -n wcs-r2 addr add fd00:32:4::1/64 dev r2b nodad
    ip -n wcs-srv addr add fd00:32:4::200/64 dev srv0 nodad
    ip -n wcs-srv addr add fd00:32:4::17/64 dev srv0 nodad
    ip -n wcs-cli -6 route add default via fd00:32:1::1
    ip -n wcs-fw -6 route add default via fd00:32:2::2
    ip -n wcs-r1 -6 route add default via fd00:32:3::2
    ip -n wcs-r1 -6 route add fd00:32:1::/64 via fd00:32:2::1
    ip -n wcs-r2 -6 route add fd00:32:1::/64 via fd00:32:3::1
    ip -n wcs-r2 -6 route add fd00:32:2::/64 via fd00:32:3::1
    ip -n wcs-srv -6 route add default via fd00:32:4::1
    for n in wcs-fw wcs-r1 wcs-r2; do inns "$n" sysctl -qw net.ipv6.conf.all.forwarding=1; done
  fi
  mkdir -p /etc/netns/wcs-cli
  echo "nameserver 10.32.1.1" > /etc/netns/wcs-cli/resolv.conf

  # servers: the SWG (TLS on 443, HTTP on 80), a web site, the anycast SWG
  mkdir -p "$WORK/www"
  echo "hello from the lab" > "$WORK/www/index.html"
  if [ ! -f "$WORK/key.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
      -subj "/CN=lab.test" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
  fi
  local a
  for a in 10.32.4.200 10.32.4.17 10.32.5.50; do
    # reset-gateway: nothing listens on the gateway's 443
    [ "$a:${SWG_TLS:-1}" = 10.32.4.200:0 ] || \
    bg wcs-srv openssl s_server -quiet -www -accept "$a:443" -cert "$WORK/cert.pem" -key "$WORK/key.pem"
    bg wcs-srv python3 -m http.server 80 --bind "$a" --directory "$WORK/www"
  done
  if [ $v6 = 1 ]; then
    for a in fd00:32:4::200 fd00:32:4::17; do
      bg wcs-srv openssl s_server -quiet -www -accept "[$a]:443" -cert "$WORK/cert.pem" -key "$WORK/key.pem"
      bg wcs-srv python3 -m http.server 80 --bind "$a" --directory "$WORK/www"
    done
  fi
}

# dnsmasq on the firewall; $1 = 'chain' (the SWG name resolves), 'chain6' (to an A and an
# AAAA) or 'nxdomain'
dns_up() {
  local swg=() web="$WEB_NAME,10.32.4.17"
  case "$1" in
    chain) swg=(--host-record="$SWG_ELB,10.32.4.200") ;;
    chain6) swg=(--host-record="$SWG_ELB,10.32.4.200,fd00:32:4::200"); web="$WEB_NAME,10.32.4.17,fd00:32:4::17" ;;
  esac
  [ "$1" = nxdomain ] || swg+=(--cname="$SWG_ALIAS,$SWG_ELB" --cname="$SWG_NAME,$SWG_ALIAS")
  bg wcs-fw dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces --listen-address=10.32.1.1 \
    --user=root --pid-file="$WORK/dnsmasq.pid" --local-ttl=60 --local=/opendns.com/ --local=/umbrella.com/ \
    --local=/amazonaws.com/ --local=/test/ --host-record="$web" "${swg[@]}"
}

fw_rule() { inns wcs-fw iptables -A FORWARD "$@"; }

# every server socket the scenario expects is listening (python and openssl start slowly on
# a loaded machine)
listening() {
  local have want
  have="$(inns wcs-srv ss -Hltn | awk '{print $4}')"
  for want in 10.32.4.17:80 10.32.4.17:443 10.32.4.200:80 10.32.5.50:80 10.32.5.50:443; do
    grep -qxF "$want" <<<"$have" || return 1
  done
  if [ "${SWG_TLS:-1}" = 1 ]; then grep -qxF 10.32.4.200:443 <<<"$have" || return 1; fi
  if [ "$LAB_V6" = 1 ]; then
    for want in '[fd00:32:4::17]:80' '[fd00:32:4::17]:443' '[fd00:32:4::200]:80' '[fd00:32:4::200]:443'; do
      grep -qxF "$want" <<<"$have" || return 1
    done
  fi
}

wait_ready() {
  local i
  for i in $(seq 1 100); do
    listening || { sleep 0.2; continue; }
    if inns wcs-cli timeout 1 curl -s -o /dev/null "http://10.32.4.17/" && \
       { [ "$LAB_V6" = 0 ] || inns wcs-cli timeout 1 curl -s -o /dev/null "http://[fd00:32:4::17]/"; } && \
       inns wcs-cli timeout 1 bash -c 'exec 3<>/dev/tcp/10.32.1.1/53' 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "record.sh: lab did not come up" >&2; exit 1
}

capture_start() {
  bg wcs-cli tcpdump -q -n -U --immediate-mode -i cli0 -w "$RAW/$1.pcap"
  CAP_PID="${PIDS[-1]}"
  sleep 1
}
capture_stop() {
  sleep 1
  kill -INT "$CAP_PID" 2>/dev/null || true
  wait "$CAP_PID" 2>/dev/null || true
}

# the client's ordinary web traffic (fail-open: it goes direct)
web() {
  inns wcs-cli curl -s -m 5 -o /dev/null "http://$WEB_NAME/" || true
  inns wcs-cli curl -sk -m 5 -o /dev/null "https://$WEB_NAME/" || true
}

swg_https() { inns wcs-cli curl -sk -m "$1" --connect-timeout "$1" -o /dev/null "https://$SWG_NAME/" || true; }

scenario() {
  local name="$1"
  echo "== $name"
  case "$name" in
    ipv6-refused) lab_up v6; dns_up chain6 ;;
    nxdomain) lab_up; dns_up nxdomain ;;
    reset-gateway) SWG_TLS=0; lab_up; dns_up chain ;;
    *) lab_up; dns_up chain ;;
  esac
  wait_ready
  SWG_TLS=1
  case "$name" in
    drop-linear)
      fw_rule -p tcp -d 10.32.4.200 --dport 443 -j DROP
      capture_start "$name"
      web
      swg_https 20
      web
      ;;
    drop-exponential)
      inns wcs-cli sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0
      fw_rule -p tcp -d 10.32.5.50 -m multiport --dports 443,80 -j DROP
      capture_start "$name"
      web
      inns wcs-cli curl -sk -m 20 --connect-timeout 16 -o /dev/null "https://10.32.5.50/" &
      local c1=$!
      sleep 0.3
      inns wcs-cli curl -s -m 20 --connect-timeout 16 -o /dev/null "http://10.32.5.50/" || true
      wait "$c1" || true
      web
      ;;
    reset)
      fw_rule -p tcp -d 10.32.4.200 --dport 443 -j REJECT --reject-with tcp-reset
      capture_start "$name"
      web
      local i
      for i in 1 2 3; do swg_https 5; sleep 1; done
      web
      ;;
    reset-gateway)
      capture_start "$name"
      web
      swg_https 5
      inns wcs-cli curl -s -m 5 -o /dev/null "http://$SWG_NAME/" || true
      ;;
    pass)
      capture_start "$name"
      web
      swg_https 5
      inns wcs-cli curl -s -m 5 -o /dev/null "http://$SWG_NAME/" || true
      ;;
    mixed)
      fw_rule -p tcp -d 10.32.4.200 --dport 443 -j DROP
      capture_start "$name"
      web
      swg_https 5
      inns wcs-cli curl -s -m 5 -o /dev/null "http://$SWG_NAME/" || true
      ;;
    nxdomain)
      capture_start "$name"
      inns wcs-cli curl -sk -m 5 -o /dev/null "https://$SWG_NAME/" || true
      web
      ;;
    ipv6-refused)
      inns wcs-fw ip6tables -A FORWARD -p tcp -d fd00:32:4::200 -j REJECT --reject-with adm-prohibited
      capture_start "$name"
      web
      swg_https 5
      web
      ;;
    *) echo "record.sh: unknown scenario $name" >&2; exit 2 ;;
  esac
  capture_stop
  cleanup
}

rewrite() {
  local name="$1"
  local rw="$BUILD/captures/tools/rewrite.js"
  if [ ! -f "$rw" ]; then
    (cd "$REPO" && npx tsc -p . --outDir "$BUILD" >/dev/null 2>&1) || true
  fi
  [ -f "$rw" ] || { echo "record.sh: rewriter not built ($rw); raw recording kept in $RAW" >&2; return 1; }
  # one fixed start instant (the time of the seed's csc_swgagent log line) keeps the
  # committed files stable across re-recordings; MACs anonymised
  node "$rw" "$RAW/$name.pcap" "$HERE/$name.pcap" --map-file "$HERE/addresses.map" \
    --shift-time 2024-08-27T06:41:22Z --mac-anon --quiet
  echo "   -> captures/web-protection/$name.pcap ($(stat -c %s "$HERE/$name.pcap") bytes)"
}

ALL=(drop-linear drop-exponential reset reset-gateway pass mixed nxdomain ipv6-refused)
LIST=("$@")
[ ${#LIST[@]} -gt 0 ] || LIST=("${ALL[@]}")
for s in "${LIST[@]}"; do
  scenario "$s"
  [ -n "${WCS_NO_REWRITE:-}" ] || rewrite "$s"
done
