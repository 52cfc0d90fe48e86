#!/usr/bin/env python3
"""Delay every Ethernet frame between two interfaces by a fixed time (a one-box substitute for
tc netem, which this kernel lacks). Run it in a namespace that holds both interfaces, with no
addresses on them: it is a transparent two-port bridge that re-sends each frame received on
one port out of the other after DELAY_MS. TTLs are not touched (a bridge is not a hop).

    delay-bridge.py IF_A IF_B DELAY_MS [MAX_SECONDS]

Bounded: exits after MAX_SECONDS (default 300); at most 20000 frames are held at once
(beyond that a frame is dropped, as a full queue would).

veth interfaces hand frames over with the TCP/UDP checksum left for the "hardware" to fill in
(checksum offload): a frame read from a packet socket and sent again would carry a wrong
checksum. The bridge therefore recomputes the TCP and UDP checksums of unfragmented IPv4
frames before sending them on (a correct checksum stays what it was).
"""
import heapq
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
MAX_QUEUE = 20000


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def fix_checksum(frame):
    if len(frame) < 34 or frame[12:14] != b'\x08\x00':
        return frame
    ihl = (frame[14] & 0x0f) * 4
    end = 14 + int.from_bytes(frame[16:18], 'big')
    proto = frame[23]
    l4 = 14 + ihl
    if end > len(frame) or (int.from_bytes(frame[20:22], 'big') & 0x3fff) != 0:
        return frame
    if proto == 6:
        at = l4 + 16
    elif proto == 17:
        at = l4 + 6
    else:
        return frame
    if at + 2 > end:
        return frame
    b = bytearray(frame)
    b[at:at + 2] = b'\0\0'
    c = csum(bytes(b[26:34]) + bytes([0, proto]) + (end - l4).to_bytes(2, 'big') + bytes(b[l4:end]))
    if proto == 17 and c == 0:
        c = 0xffff
    b[at:at + 2] = c.to_bytes(2, 'big')
    return bytes(b)


def port(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((name, 0))
    s.setblocking(False)
    return s


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    a, b = port(sys.argv[1]), port(sys.argv[2])
    delay = float(sys.argv[3]) / 1000.0
    stop = time.monotonic() + (float(sys.argv[4]) if len(sys.argv) > 4 else 300.0)
    other = {a.fileno(): b, b.fileno(): a}
    queue = []
    seq = 0
    while True:
        now = time.monotonic()
        if now >= stop:
            break
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
            except OSError:
                pass                      # e.g. a frame larger than the MTU: dropped
        timeout = min(0.2, max(0.0, queue[0][0] - now)) if queue else 0.2
        ready, _, _ = select.select([a, b], [], [], timeout)
        for s in ready:
            for _ in range(256):
                try:
                    frame, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == socket.PACKET_OUTGOING:
                    continue              # our own transmissions
                if len(queue) >= MAX_QUEUE:
                    continue
                seq += 1
                heapq.heappush(queue, (time.monotonic() + delay, seq, other[s.fileno()], fix_checksum(frame)))


if __name__ == '__main__':
    main()
