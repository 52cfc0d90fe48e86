# shellcheck shell=bash
# Namespace lab kit for reproducible recordings (sourced by the scenario scripts in
# captures/<check>/). Needs root, iproute2, tcpdump, coreutils `timeout`, util-linux `flock`.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../tools/lab.sh"
#   lab_init wct                     # prefix: namespaces are wct-<name>; installs the EXIT trap
#   lab_ns cli rtr srv               # -> wct-cli wct-rtr wct-srv (loopback up, no IPv6 DAD)
#   lab_link cli eth0 rtr c0         # veth pair, one end in each namespace, both up
#   lab_link rtr s0 srv eth0
#   lab_addr cli eth0 10.30.1.10/24  # IPv6 works the same: lab_addr cli eth0 fd00:30:1::10/64
#   lab_addr rtr c0 10.30.1.1/24; lab_addr rtr s0 10.30.2.1/24; lab_addr srv eth0 10.30.2.53/24
#   lab_route cli default via 10.30.1.1
#   lab_route srv default via 10.30.2.1
#   lab_forwarding rtr
#   lab_capture cli eth0 /tmp/x.pcap     # returns when tcpdump listens; pid in $LAB_LAST_PID
#   lab_bg srv dnsmasq --no-daemon ...   # any background process, bounded by $LAB_MAX seconds
#   lab_exec cli dig @10.30.2.53 example.test
#   lab_stop_capture                     # SIGINT to every capture, waits until written
#   # lab_cleanup runs on exit: kills what lab_bg/lab_capture started, deletes wct-* namespaces
#
# Parallel runs: every script uses its own prefix and address block (captures/README.md):
# dns-protection wcd 10.31.0.0/16 fd00:31::/32, web-protection wcs 10.32.0.0/16 fd00:32::/32,
# gotomeeting wcg 10.33.0.0/16 fd00:33::/32, live tests wcl 10.34.0.0/16, experiments wct
# 10.30.0.0/16 fd00:30::/32. lab_init takes a lock per prefix, so two runs of the same
# script wait for each other instead of tearing down each other's namespaces. Interface
# names live inside the namespaces (veth ends are created there directly), so they never
# collide between scripts. Send packets only between addresses you assigned yourself.
#
# Every command is bounded: ip/sysctl calls by `timeout $LAB_CMD_TIMEOUT` (10 s), background
# processes by `timeout $LAB_MAX` (default 300 s; set LAB_MAX before lab_init to change),
# waits by explicit deadlines.

LAB_PREFIX=""
LAB_MAX="${LAB_MAX:-300}"
LAB_CMD_TIMEOUT="${LAB_CMD_TIMEOUT:-10}"
LAB_PIDS=()
LAB_CAPTURE_PIDS=()
LAB_LAST_PID=""
LAB_TMP=""
LAB_TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

lab_log() { echo "lab: $*" >&2; }
lab_die() { echo "lab: error: $*" >&2; exit 2; }

# lab_init PREFIX -- check root, take the per-prefix lock, remove leftovers of an earlier
# run with the same prefix, install the cleanup trap.
lab_init() {
  local prefix="${1:?lab_init PREFIX}"
  [[ "$prefix" =~ ^[a-z][a-z0-9]{1,7}$ ]] || lab_die "prefix must be 2-8 lowercase letters/digits: $prefix"
  [ "$(id -u)" = 0 ] || lab_die "needs root (network namespaces)"
  command -v tcpdump >/dev/null || lab_die "tcpdump is not installed"
  LAB_PREFIX="$prefix"
  LAB_TMP="$(mktemp -d "/tmp/lab-$prefix.XXXXXX")"
  exec {LAB_LOCK_FD}>"/run/wirecheck-lab-$prefix.lock"
  timeout "$LAB_MAX" flock "$LAB_LOCK_FD" || lab_die "another run holds the lab lock for prefix $prefix"
  trap lab_cleanup EXIT
  trap 'exit 130' INT TERM
  _lab_delete_namespaces
}

# the full namespace name for NAME ("cli" -> "wct-cli"; already-prefixed names pass through)
lab_nsname() {
  local n="${1:?namespace}"
  [ -n "$LAB_PREFIX" ] || lab_die "call lab_init PREFIX first"
  if [[ "$n" == "$LAB_PREFIX-"* ]]; then echo "$n"; else echo "$LAB_PREFIX-$n"; fi
}

_lab_ip() { timeout "$LAB_CMD_TIMEOUT" ip "$@"; }

# lab_ns NAME... -- create namespaces, loopback up, IPv6 duplicate address detection off
# (addresses are usable at once), no router solicitations.
lab_ns() {
  local n ns
  for n in "$@"; do
    ns="$(lab_nsname "$n")"
    _lab_ip netns add "$ns" || lab_die "cannot create namespace $ns"
    _lab_ip -n "$ns" link set lo up
    lab_sysctl "$n" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
      net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0
  done
}

# lab_exec NS CMD... -- run a command inside a namespace (bounded by $LAB_MAX)
lab_exec() {
  local ns; ns="$(lab_nsname "$1")"; shift
  timeout "$LAB_MAX" ip netns exec "$ns" "$@"
}

# lab_sysctl NS KEY=VALUE...
lab_sysctl() {
  local ns; ns="$(lab_nsname "$1")"; shift
  timeout "$LAB_CMD_TIMEOUT" ip netns exec "$ns" sysctl -q -w "$@" >/dev/null
}

# lab_link NS1 IF1 NS2 IF2 [MTU] -- a veth pair with one end in each namespace, both up.
lab_link() {
  local ns1 ns2 mtu="${5:-1500}"
  ns1="$(lab_nsname "$1")"; ns2="$(lab_nsname "$3")"
  _lab_ip link add name "$2" mtu "$mtu" netns "$ns1" type veth peer name "$4" mtu "$mtu" netns "$ns2" \
    || lab_die "cannot create veth $1:$2 <-> $3:$4"
  _lab_ip -n "$ns1" link set "$2" up
  _lab_ip -n "$ns2" link set "$4" up
  # segments as they would be on a real wire (no 64 KiB GSO super-packets in the capture)
  _lab_ip -n "$ns1" link set "$2" gso_max_size "$mtu" 2>/dev/null || true
  _lab_ip -n "$ns2" link set "$4" gso_max_size "$mtu" 2>/dev/null || true
}

# lab_addr NS IF CIDR -- IPv4 or IPv6 (IPv6 without DAD)
lab_addr() {
  local ns; ns="$(lab_nsname "$1")"
  if [[ "$3" == *:* ]]; then
    _lab_ip -n "$ns" -6 addr add "$3" dev "$2" nodad || lab_die "cannot add $3 to $1:$2"
  else
    _lab_ip -n "$ns" addr add "$3" dev "$2" || lab_die "cannot add $3 to $1:$2"
  fi
}

# lab_route NS ROUTE... -- e.g. lab_route cli default via 10.30.1.1
#                               lab_route cli fd00:30:2::/64 via fd00:30:1::1
lab_route() {
  local ns; ns="$(lab_nsname "$1")"; shift
  local fam=-4 a
  for a in "$@"; do [[ "$a" == *:* ]] && fam=-6; done
  _lab_ip -n "$ns" "$fam" route add "$@" || lab_die "cannot add route in $ns: $*"
}

# lab_forwarding NS -- IPv4 and IPv6 forwarding on (a router; it decrements TTL/hop limit)
lab_forwarding() {
  lab_sysctl "$1" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

# lab_resolv NS NAMESERVER -- /etc/resolv.conf as processes in NS see it (ip netns exec
# bind-mounts /etc/netns/<ns>/resolv.conf)
lab_resolv() {
  local ns; ns="$(lab_nsname "$1")"
  mkdir -p "/etc/netns/$ns"
  printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$2" >"/etc/netns/$ns/resolv.conf"
}

# lab_bg NS CMD... -- start CMD in the background inside NS, bounded by $LAB_MAX seconds;
# its pid is in $LAB_LAST_PID (killed by lab_cleanup). Output goes to $LAB_TMP/<pid>.log.
lab_bg() {
  local ns; ns="$(lab_nsname "$1")"; shift
  local log="$LAB_TMP/bg.$RANDOM.log"
  timeout "$LAB_MAX" ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
  LAB_LAST_PID=$!
  LAB_PIDS+=("$LAB_LAST_PID")
  mv "$log" "$LAB_TMP/$LAB_LAST_PID.log" 2>/dev/null || true
}

# lab_wait_listen NS tcp|udp PORT [SECONDS] -- wait until a socket listens on PORT in NS
lab_wait_listen() {
  local ns; ns="$(lab_nsname "$1")"
  local flag=-ltnH; [ "$2" = udp ] && flag=-lunH
  local deadline=$((SECONDS + ${4:-10}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if timeout "$LAB_CMD_TIMEOUT" ip netns exec "$ns" ss "$flag" "sport = :$3" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.05
  done
  lab_die "nothing listens on $2/$3 in $ns after ${4:-10} s"
}

# lab_capture NS IF FILE [FILTER...] -- tcpdump --immediate-mode -U -s 0 -w FILE on IF inside NS
# (immediate mode: without it, packets of the last second can sit in the kernel ring when
# tcpdump is stopped and never reach the file); returns once
# tcpdump is listening. Its pid is in $LAB_LAST_PID.
lab_capture() {
  local ns; ns="$(lab_nsname "$1")"
  local ifc="$2" file="$3"; shift 3
  local log="$LAB_TMP/tcpdump.$ifc.$RANDOM.log"
  timeout "$LAB_MAX" ip netns exec "$ns" tcpdump -i "$ifc" --immediate-mode -U -s 0 -n -w "$file" "$@" >"$log" 2>&1 </dev/null &
  LAB_LAST_PID=$!
  LAB_PIDS+=("$LAB_LAST_PID")
  LAB_CAPTURE_PIDS+=("$LAB_LAST_PID")
  local deadline=$((SECONDS + 10))
  until grep -q "listening on" "$log" 2>/dev/null; do
    if ! kill -0 "$LAB_LAST_PID" 2>/dev/null; then cat "$log" >&2; lab_die "tcpdump on $ns:$ifc exited"; fi
    [ "$SECONDS" -lt "$deadline" ] || lab_die "tcpdump on $ns:$ifc not listening after 10 s"
    sleep 0.05
  done
}

# lab_stop_capture [PID...] -- stop captures (default: all) with SIGINT so tcpdump writes
# what it has; waits up to 5 s each, then SIGKILL.
lab_stop_capture() {
  local pids=("$@") p i
  [ ${#pids[@]} -gt 0 ] || pids=("${LAB_CAPTURE_PIDS[@]}")
  sleep 0.2                                  # let the last packets reach the capture
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  local keep=()
  for p in "${LAB_CAPTURE_PIDS[@]}"; do [[ " ${pids[*]} " == *" $p "* ]] || keep+=("$p"); done
  LAB_CAPTURE_PIDS=("${keep[@]}")
}

# lab_delay NS IF_A IF_B MS -- forward every frame between IF_A and IF_B of NS after MS
# milliseconds each way (delay-bridge.py; this kernel has no sch_netem). Both interfaces are
# brought up; the namespace needs no addresses and no forwarding.
lab_delay() {
  local ns; ns="$(lab_nsname "$1")"
  _lab_ip -n "$ns" link set "$2" up
  _lab_ip -n "$ns" link set "$3" up
  lab_bg "$1" python3 "$LAB_TOOLS/delay-bridge.py" "$2" "$3" "$4" "$LAB_MAX"
  local pid=$LAB_LAST_PID deadline=$((SECONDS + 10))
  until grep -q "bridging" "$LAB_TMP/$pid.log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$LAB_TMP/$pid.log" >&2; lab_die "delay bridge in $ns exited"; }
    [ "$SECONDS" -lt "$deadline" ] || lab_die "delay bridge in $ns did not start"
    sleep 0.05
  done
}

_lab_delete_namespaces() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    if [[ "$ns" == "$LAB_PREFIX-"* ]]; then
      timeout "$LAB_CMD_TIMEOUT" ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
      _lab_ip netns del "$ns" 2>/dev/null || true
      rm -rf "/etc/netns/$ns"
    fi
  done
}

# lab_cleanup -- kill what lab_bg/lab_capture started, delete the prefix's namespaces.
# Installed as the EXIT trap by lab_init; safe to call more than once.
lab_cleanup() {
  local rc=$? p i
  set +e
  [ -n "$LAB_PREFIX" ] || return "$rc"
  for p in "${LAB_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${LAB_PIDS[@]}"; do
    for ((i = 0; i < 40; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  LAB_PIDS=()
  LAB_CAPTURE_PIDS=()
  _lab_delete_namespaces
  [ -n "$LAB_TMP" ] && rm -rf "$LAB_TMP"
  return "$rc"
}
