#!/usr/bin/env python3
"""delay-bridge.py: forward every Ethernet frame between two interfaces after a delay.

This kernel has no sch_netem, so a "far away" path is made in user space: run this inside a
namespace that holds two interfaces (each a veth end towards a neighbour namespace; no
addresses, no IP forwarding needed). Every frame received on one interface is sent out of the
other DELAY_MS later. It is a bridge, not a router: TTL / hop limit are not touched.

    delay-bridge.py IF_A IF_B DELAY_MS[:DELAY_B_TO_A_MS] MAX_SECONDS [--max-frames N] [--max-bytes N]

  DELAY_MS       one-way delay A->B (and B->A unless given after a colon), milliseconds,
                 fractions allowed (e.g. 35 or 40:5)
  MAX_SECONDS    the bridge exits after this long, whatever happens (bounded runtime)
  --max-frames   frames held at once (default 20000); beyond that a frame is dropped, as a
                 full router queue would
  --max-bytes    bytes held at once (default 64 MiB)

On start it prints "bridging IF_A <-> IF_B ..." on stderr; on exit (time up, SIGTERM, SIGINT)
it prints what it forwarded and dropped.

Checksums and segmentation offload: veth hands frames to packet sockets with the TCP/UDP
checksum not filled in yet (CHECKSUM_PARTIAL) and sometimes as 64 KiB GSO super-packets.
The bridge reads and writes with PACKET_VNET_HDR, so each frame travels with its virtio-net
header (checksum start/offset, GSO type and size) and the sending side's kernel finishes the
frame exactly as the veth pair would have without the bridge. Nothing is recomputed here.

Design: one FIFO per direction (the delay per direction is constant, so arrival order is due
order; no heap needed); a select() loop whose timeout is the next due time; AF_PACKET
SOCK_RAW sockets bound to each interface with ETH_P_ALL, skipping PACKET_OUTGOING (our own
transmissions seen by the other socket).
"""
import collections
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4
VNET_HDR_LEN = 10


def usage(msg):
    print('delay-bridge.py: %s' % msg, file=sys.stderr)
    print('usage:' + next(p for p in __doc__.split('\n\n') if p.startswith('    delay-bridge.py'))[3:], file=sys.stderr)
    sys.exit(2)


def open_port(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.bind((name, ETH_P_ALL))
    s.setblocking(False)
    return s


def parse_args(argv):
    pos, opts = [], {'--max-frames': 20000, '--max-bytes': 64 << 20}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in opts:
            if i + 1 >= len(argv):
                usage('%s needs a number' % a)
            opts[a] = int(argv[i + 1])
            i += 2
        elif a.startswith('--'):
            usage('unknown option %s' % a)
        else:
            pos.append(a)
            i += 1
    if len(pos) != 4:
        usage('needs IF_A IF_B DELAY_MS MAX_SECONDS')
    ifa, ifb, delay, max_s = pos
    try:
        parts = [float(x) for x in delay.split(':')]
        if len(parts) == 1:
            parts.append(parts[0])
        if len(parts) != 2 or min(parts) < 0 or max(parts) > 60000:
            raise ValueError
        max_s = float(max_s)
        if not 0 < max_s <= 86400:
            raise ValueError
    except ValueError:
        usage('bad DELAY_MS or MAX_SECONDS')
    return ifa, ifb, parts[0] / 1000.0, parts[1] / 1000.0, max_s, opts['--max-frames'], opts['--max-bytes']


class Direction:
    def __init__(self, name, rx, tx, delay):
        self.name, self.rx, self.tx, self.delay = name, rx, tx, delay
        self.queue = collections.deque()
        self.forwarded = self.dropped_full = self.send_errors = 0


def main():
    ifa, ifb, d_ab, d_ba, max_s, max_frames, max_bytes = parse_args(sys.argv[1:])
    try:
        a, b = open_port(ifa), open_port(ifb)
    except OSError as e:
        print('delay-bridge.py: cannot open %s/%s: %s' % (ifa, ifb, e), file=sys.stderr)
        sys.exit(1)
    dirs = [Direction('%s->%s' % (ifa, ifb), a, b, d_ab), Direction('%s->%s' % (ifb, ifa), b, a, d_ba)]
    by_fd = {a.fileno(): dirs[0], b.fileno(): dirs[1]}
    held = [0, 0]          # frames, bytes held in both queues
    stop_at = time.monotonic() + max_s
    stopping = []

    def on_signal(signum, _frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print('delay-bridge.py: bridging %s <-> %s, delay %.3f/%.3f ms, for at most %g s'
          % (ifa, ifb, d_ab * 1000, d_ba * 1000, max_s), file=sys.stderr, flush=True)

    while not stopping:
        now = time.monotonic()
        if now >= stop_at:
            break
        # send everything that is due
        for d in dirs:
            q = d.queue
            while q and q[0][0] <= now:
                _, frame = q.popleft()
                held[0] -= 1
                held[1] -= len(frame)
                try:
                    d.tx.send(frame)
                    d.forwarded += 1
                except OSError:
                    d.send_errors += 1     # e.g. ENOBUFS, or a frame the link cannot carry
        due = [d.queue[0][0] for d in dirs if d.queue]
        timeout = min([stop_at - now, 0.5] + [max(0.0, t - now) for t in due])
        try:
            ready, _, _ = select.select([a, b], [], [], timeout)
        except InterruptedError:
            continue
        for s in ready:
            d = by_fd[s.fileno()]
            for _ in range(512):              # bounded burst per wake-up
                try:
                    frame, addr = s.recvfrom(65536 + VNET_HDR_LEN)
                except (BlockingIOError, InterruptedError):
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                if held[0] >= max_frames or held[1] + len(frame) > max_bytes:
                    d.dropped_full += 1
                    continue
                d.queue.append((time.monotonic() + d.delay, frame))
                held[0] += 1
                held[1] += len(frame)

    why = 'signal %d' % stopping[0] if stopping else 'time is up'
    for d in dirs:
        print('delay-bridge.py: %s: forwarded %d, dropped (queue full) %d, send errors %d, left in queue %d'
              % (d.name, d.forwarded, d.dropped_full, d.send_errors, len(d.queue)), file=sys.stderr)
    print('delay-bridge.py: stopped (%s)' % why, file=sys.stderr, flush=True)


if __name__ == '__main__':
    main()
