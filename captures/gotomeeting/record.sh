#!/usr/bin/env bash
# Records the gotomeeting scenario captures with real network stacks in network namespaces,
# then rewrites the lab addresses offline into the real-looking ones of addresses.map
# (captures/tools/rewrite.ts).
#
#   sudo captures/gotomeeting/record.sh [scenario ...]     (default: all)
#
# Scenarios (each ends up as captures/gotomeeting/<scenario>.pcap):
#   intercepted          a transparent WSA on the client's gateway intercepts TCP 80 and 443
#                        (iptables REDIRECT to wsa-proxy.mjs: HTTP 307 to wsa.lab.test with
#                        "Via: ... (Cisco-WSA/12.5.1-011)", TLS with a certificate from
#                        "Cisco WSA Lab CA"); TCP 8200 is routed on to the genuine server,
#                        4 router hops and ~70 ms away. Background: DNS, and web traffic to
#                        www.example.com, which the proxy intercepts as well.
#   intercepted-8200-dropped  the same, but the gateway drops 8200 (interception still wins)
#   direct               no proxy: 8200, 443 and 80 all reach the genuine server
#   explicit-proxy       the client uses the WSA as an explicit proxy (CONNECT
#                        egw.gotomeeting.com:443 to 192.168.10.1:3128); direct 8200 is dropped
#   blocked              the gateway drops 8200, 443 and 80 to the server (SYN retransmissions)
#   web-intercepted      no GoToMeeting at all: the transparent proxy intercepts ordinary web
#                        traffic (http and https to www.example.com) -> proxy-intercepted only
#
# Lab (namespace prefix wcg-, addresses in 10.33.0.0/16; nothing leaves the namespaces):
#
#   wcg-cli 10.33.1.10 --- 10.33.1.1 wcg-gw 10.33.2.1 --- 10.33.2.2 wcg-r1 10.33.3.1 ---
#     [wcg-dly: captures/tools/delay-bridge.py, 35 ms each way] --- 10.33.3.2 wcg-r2 10.33.4.1 ---
#     10.33.4.2 wcg-r3 10.33.9.1 --- wcg-srv 10.33.9.10 (GoToMeeting EGW), 10.33.9.20 (web)
#
# wcg-gw is the client's gateway, firewall, DNS server (dnsmasq, real names) and, in the
# proxy scenarios, the WSA. The server's packets cross 4 routers (TTL 64 -> 60 at the
# client) and the delay bridge; the proxy answers from the gateway itself (TTL 64, < 1 ms).
# This kernel has no sch_netem, hence the user-space delay bridge. The capture is taken on
# the client's interface. Raw recordings stay in a temporary folder (or $WCG_RAW); only the
# rewritten captures are written into the repository.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="${WCG_BUILD:-$REPO/dist-gtm}"
RAW="${WCG_RAW:-$(mktemp -d /tmp/wcg-raw.XXXXXX)}"
mkdir -p "$RAW"
WORK="$(mktemp -d /tmp/wcg-work.XXXXXX)"
NS=(wcg-cli wcg-gw wcg-r1 wcg-dly wcg-r2 wcg-r3 wcg-srv)
PIDS=()
GTM_NAME=egw.gotomeeting.com
WEB_NAME=www.example.com
LIFE=90     # seconds any helper process may live

[ "$(id -u)" = 0 ] || { echo "record.sh: needs root (network namespaces)" >&2; exit 2; }

cleanup() {
  set +e
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  PIDS=()
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
  rm -rf /etc/netns/wcg-cli /etc/netns/wcg-gw
}
finish() {
  cleanup
  rm -rf "$WORK"
  [ -n "${WCG_RAW:-}" ] || rm -rf "$RAW"
}
trap finish EXIT
trap 'exit 130' INT TERM

inns() { local n="$1"; shift; ip netns exec "$n" "$@"; }
bg() { local n="$1"; shift; ip netns exec "$n" timeout "$LIFE" "$@" & PIDS+=("$!"); }

certs() {
  # GoTo's stand-in CA and the EGW certificate; the WSA's own CA and the certificates it mints;
  # a public-looking CA for the ordinary web site
  local d="$WORK/pki"
  mkdir -p "$d"
  mkca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "$2" -keyout "$d/$1.key" -out "$d/$1.pem" 2>/dev/null; }
  mkleaf() {  # name subject ca san
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" -keyout "$d/$1.key" -out "$d/$1.csr" 2>/dev/null
    printf 'subjectAltName=%s\n' "$4" > "$d/$1.ext"
    openssl x509 -req -in "$d/$1.csr" -CA "$d/$3.pem" -CAkey "$d/$3.key" -CAcreateserial -days 30 -extfile "$d/$1.ext" -out "$d/$1.crt" 2>/dev/null
    cat "$d/$1.crt" "$d/$3.pem" > "$d/$1.chain"
  }
  mkca goto-ca "/C=US/O=GoTo Test/CN=GoTo Test CA"
  mkca wsa-ca "/O=Lab/OU=Web Security/CN=Cisco WSA Lab CA"
  mkca web-ca "/C=US/O=Lab Public Trust/CN=Lab Public Trust RSA CA"
  mkleaf egw "/O=GoTo Test/CN=$GTM_NAME" goto-ca "DNS:$GTM_NAME,DNS:*.gotomeeting.com"
  mkleaf web "/CN=$WEB_NAME" web-ca "DNS:$WEB_NAME"
  mkleaf wsa-egw "/CN=$GTM_NAME" wsa-ca "DNS:$GTM_NAME"
  mkleaf wsa-web "/CN=$WEB_NAME" wsa-ca "DNS:$WEB_NAME"
}

lab_up() {
  cleanup
  for n in "${NS[@]}"; do
    ip netns add "$n"
    ip -n "$n" link set lo up
    inns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip link add cli0 netns wcg-cli type veth peer name gw0 netns wcg-gw
  ip link add gw1 netns wcg-gw type veth peer name r1a netns wcg-r1
  ip link add r1b netns wcg-r1 type veth peer name d0 netns wcg-dly
  ip link add d1 netns wcg-dly type veth peer name r2a netns wcg-r2
  ip link add r2b netns wcg-r2 type veth peer name r3a netns wcg-r3
  ip link add r3b netns wcg-r3 type veth peer name srv0 netns wcg-srv
  ip -n wcg-cli addr add 10.33.1.10/24 dev cli0
  ip -n wcg-gw addr add 10.33.1.1/24 dev gw0
  ip -n wcg-gw addr add 10.33.2.1/24 dev gw1
  ip -n wcg-r1 addr add 10.33.2.2/24 dev r1a
  ip -n wcg-r1 addr add 10.33.3.1/24 dev r1b
  ip -n wcg-r2 addr add 10.33.3.2/24 dev r2a
  ip -n wcg-r2 addr add 10.33.4.1/24 dev r2b
  ip -n wcg-r3 addr add 10.33.4.2/24 dev r3a
  ip -n wcg-r3 addr add 10.33.9.1/24 dev r3b
  ip -n wcg-srv addr add 10.33.9.10/24 dev srv0
  ip -n wcg-srv addr add 10.33.9.20/24 dev srv0
  local l
  for l in wcg-cli:cli0 wcg-gw:gw0 wcg-gw:gw1 wcg-r1:r1a wcg-r1:r1b wcg-dly:d0 wcg-dly:d1 wcg-r2:r2a wcg-r2:r2b \
           wcg-r3:r3a wcg-r3:r3b wcg-srv:srv0; do
    ip -n "${l%%:*}" link set "${l##*:}" up
  done
  ip -n wcg-dly link set d0 promisc on
  ip -n wcg-dly link set d1 promisc on
  ip -n wcg-cli route add default via 10.33.1.1
  ip -n wcg-gw route add default via 10.33.2.2
  ip -n wcg-r1 route add default via 10.33.3.2
  ip -n wcg-r1 route add 10.33.1.0/24 via 10.33.2.1
  ip -n wcg-r2 route add default via 10.33.4.2
  ip -n wcg-r2 route add 10.33.1.0/24 via 10.33.3.1
  ip -n wcg-r2 route add 10.33.2.0/24 via 10.33.3.1
  ip -n wcg-r3 route add default via 10.33.4.1
  ip -n wcg-srv route add default via 10.33.9.1
  for n in wcg-gw wcg-r1 wcg-r2 wcg-r3; do inns "$n" sysctl -qw net.ipv4.ip_forward=1; done
  mkdir -p /etc/netns/wcg-cli /etc/netns/wcg-gw
  echo "nameserver 10.33.1.1" > /etc/netns/wcg-cli/resolv.conf
  echo "nameserver 10.33.1.1" > /etc/netns/wcg-gw/resolv.conf

  bg wcg-dly python3 "$REPO/captures/tools/delay-bridge.py" d0 d1 35 "$LIFE"
  local p="$WORK/pki"
  bg wcg-srv node "$HERE/egw-server.mjs" --addr 10.33.9.10 --tls-ports 8200,443 --http-port 80 \
    --cert "$p/egw.chain" --key "$p/egw.key" --server-header GoTo-EGW-lab --max-seconds "$LIFE"
  bg wcg-srv node "$HERE/egw-server.mjs" --addr 10.33.9.20 --tls-ports 443 --http-port 80 \
    --cert "$p/web.chain" --key "$p/web.key" --server-header nginx --max-seconds "$LIFE"
  bg wcg-gw dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces --listen-address=10.33.1.1 \
    --user=root --pid-file="$WORK/dnsmasq.pid" --local-ttl=60 --local=/com/ --local=/test/ \
    --host-record="$GTM_NAME,10.33.9.10" --host-record="$WEB_NAME,10.33.9.20" --host-record="wsa.lab.test,10.33.1.1"
}

# the WSA on the gateway: transparent (REDIRECT 80/443) or explicit (CONNECT on 3128)
wsa_transparent() {
  local p="$WORK/pki"
  bg wcg-gw node "$HERE/wsa-proxy.mjs" --http-port 3129 --tls-port 3130 --max-seconds "$LIFE" \
    --certs "$GTM_NAME=$p/wsa-egw.chain:$p/wsa-egw.key,$WEB_NAME=$p/wsa-web.chain:$p/wsa-web.key"
  inns wcg-gw iptables -t nat -A PREROUTING -i gw0 -p tcp --dport 80 -j REDIRECT --to-ports 3129
  inns wcg-gw iptables -t nat -A PREROUTING -i gw0 -p tcp --dport 443 -j REDIRECT --to-ports 3130
}
wsa_explicit() {
  bg wcg-gw node "$HERE/wsa-proxy.mjs" --connect-port 3128 --listen 10.33.1.1 --max-seconds "$LIFE"
}
fw_drop() { inns wcg-gw iptables -A FORWARD -i gw0 -d 10.33.9.10 -p tcp -m multiport --dports "$1" -j DROP; }

wait_ready() {
  local i
  for i in $(seq 1 50); do
    # from the gateway itself (never redirected): also warms the ARP caches along the path
    if inns wcg-gw timeout 2 bash -c 'exec 3<>/dev/tcp/10.33.9.20/80' 2>/dev/null && \
       inns wcg-cli timeout 1 bash -c 'exec 3<>/dev/tcp/10.33.1.1/53' 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "record.sh: lab did not come up" >&2; exit 1
}

capture_start() {
  bg wcg-cli tcpdump -q -n -U -i cli0 -w "$RAW/$1.pcap"
  CAP_PID="${PIDS[-1]}"
  sleep 1
}
capture_stop() {
  sleep 1
  kill -INT "$CAP_PID" 2>/dev/null || true
  wait "$CAP_PID" 2>/dev/null || true
}

# ordinary traffic of the PC beside the meeting client
background() {
  inns wcg-cli dig +short +tries=1 +time=2 "$WEB_NAME" A >/dev/null || true
  inns wcg-cli curl -s -m 5 -o /dev/null "http://$WEB_NAME/" || true
  inns wcg-cli curl -sk -m 5 -o /dev/null "https://$WEB_NAME/" || true
}

gtm() { inns wcg-cli timeout 20 node "$HERE/gtm-client.mjs" --host "$GTM_NAME" "$@" | sed 's/^/   /'; }

scenario() {
  local name="$1"
  echo "== $name"
  lab_up
  case "$name" in
    intercepted) wsa_transparent ;;
    intercepted-8200-dropped) wsa_transparent; fw_drop 8200 ;;
    direct) ;;
    explicit-proxy) wsa_explicit; inns wcg-gw iptables -A FORWARD -i gw0 -d 10.33.9.10 -j DROP ;;
    blocked) fw_drop 8200,443,80 ;;
    web-intercepted) wsa_transparent ;;
    *) echo "record.sh: unknown scenario $name" >&2; exit 2 ;;
  esac
  wait_ready
  # warm the client's path to the server (neighbour caches along the routers) before recording,
  # so the first handshake shows the path's delay, not address resolution (a closed port: the
  # server resets at once, nothing lingers into the recording)
  inns wcg-cli timeout 1 bash -c 'exec 3<>/dev/tcp/10.33.9.10/9' 2>/dev/null || true
  capture_start "$name"
  background
  case "$name" in
    intercepted|direct) gtm --timeout-ms 4000 ;;
    intercepted-8200-dropped) gtm --timeout-ms 4000 ;;
    explicit-proxy) gtm --proxy 10.33.1.1:3128 --proxy-ports 443 --timeout-ms 4000 ;;
    blocked) gtm --timeout-ms 6500 ;;
    web-intercepted) sleep 0.5; background ;;
  esac
  background
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
  node "$rw" "$RAW/$name.pcap" "$HERE/$name.pcap" --map-file "$HERE/addresses.map" \
    --shift-time 2025-03-04T09:15:00Z --mac-anon --quiet
  echo "   -> captures/gotomeeting/$name.pcap ($(stat -c %s "$HERE/$name.pcap") bytes)"
}

certs
ALL=(intercepted intercepted-8200-dropped direct explicit-proxy blocked web-intercepted)
LIST=("$@")
[ ${#LIST[@]} -gt 0 ] || LIST=("${ALL[@]}")
for s in "${LIST[@]}"; do
  scenario "$s"
  [ -n "${WCG_NO_REWRITE:-}" ] || rewrite "$s"
done
