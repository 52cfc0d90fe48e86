// The namespace lab kit (captures/tools/lab.sh) and the delay bridge, for real: a client, a
// router and a server with the delay bridge between router and server (prefix wct,
// 10.30.0.0/16, the block for the captools' own experiments). Checks the TCP connect time
// across a 20 ms each-way bridge, that the capture holds the handshake with the server's TTL
// one lower (one router), that a 300 kB transfer arrives (checksum/GSO pass-through), and
// that cleanup leaves no namespace behind. Needs root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readCapture } from '../../captures/tools/capread.js';
import { need, repoRoot } from '../helpers/env.js';

const SCRIPT = String.raw`
set -euo pipefail
LAB_MAX=40
source "$REPO/captures/tools/lab.sh"
lab_init wct
lab_ns cli rtr dly srv
lab_link cli eth0 rtr c0
lab_link rtr s0 dly d0
lab_link dly d1 srv eth0
lab_addr cli eth0 10.30.91.10/24; lab_addr rtr c0 10.30.91.1/24
lab_addr rtr s0 10.30.92.1/24;    lab_addr srv eth0 10.30.92.53/24
lab_route cli default via 10.30.91.1
lab_route srv default via 10.30.92.1
lab_forwarding rtr
lab_delay dly d0 d1 20
lab_bg srv python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.30.92.53", 8200)); s.listen(8)
while True:
    c, _ = s.accept(); n = 0
    while True:
        d = c.recv(65536)
        if not d: break
        n += len(d)
    c.sendall(str(n).encode()); c.close()
'
lab_wait_listen srv tcp 8200
lab_capture cli eth0 "$OUT/cli.pcap" tcp port 8200
lab_exec cli python3 -c '
import socket, time
socket.create_connection(("10.30.92.53", 8200), timeout=5).close()   # warms ARP on every hop
best = 1e9
for i in range(3):
    t = time.monotonic(); s = socket.create_connection(("10.30.92.53", 8200), timeout=5)
    best = min(best, time.monotonic() - t); s.close()
s = socket.create_connection(("10.30.92.53", 8200), timeout=5)
s.sendall(b"x" * 300000); s.shutdown(socket.SHUT_WR)
print("connect_ms=%.2f received=%s" % (best * 1000, s.recv(100).decode()))
' >"$OUT/result.txt"
lab_stop_capture
ip netns list >"$OUT/netns-during.txt"
`;

test('lab.sh + delay-bridge.py: delayed path, capture, cleanup', { skip: need('root'), timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirecheck-lab-'));
  try {
    writeFileSync(join(dir, 'run.sh'), SCRIPT);
    const r = spawnSync('timeout', ['80', 'bash', join(dir, 'run.sh')], { encoding: 'utf8', env: { ...process.env, REPO: repoRoot, OUT: dir } });
    assert.equal(r.status, 0, r.stderr);
    const m = /connect_ms=([\d.]+) received=(\d+)/.exec(readFileSync(join(dir, 'result.txt'), 'utf8'));
    assert.ok(m, 'client printed no result');
    const ms = Number(m[1]);
    assert.ok(ms >= 40 && ms < 250, `TCP connect across a 20 ms each-way bridge took ${ms} ms`);
    assert.equal(m[2], '300000');
    assert.match(readFileSync(join(dir, 'netns-during.txt'), 'utf8'), /wct-dly/);
    // the namespaces are gone after the script's EXIT trap ran
    const after = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(after, /^wct-/m);
    // the capture holds the handshakes; the server's packets crossed one router (TTL 63)
    const cap = readCapture(readFileSync(join(dir, 'cli.pcap')));
    assert.ok(cap.frames.length > 20, `only ${cap.frames.length} frames captured`);
    const ttls = new Set<number>();
    let synAcks = 0;
    for (const f of cap.frames) {
      const d = f.data;
      if (d.readUInt16BE(12) !== 0x0800) continue;
      const src = [...d.subarray(26, 30)].join('.');
      const flags = d[14 + (d[14] & 15) * 4 + 13];
      if (src === '10.30.92.53') ttls.add(d[22]);
      if (src === '10.30.92.53' && (flags & 0x12) === 0x12) synAcks++;
      assert.ok(d.length <= 1514, `frame of ${d.length} bytes: GSO super-packet in the capture`);
    }
    assert.equal(synAcks, 5);
    assert.deepEqual([...ttls], [63]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
