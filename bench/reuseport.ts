/**
 * Probes whether a Node binary honours dgram `reusePort`: two sockets bind the same UDP port, 16
 * client flows send 10 datagrams each, and we count how the kernel spread them. Node 20 ignores
 * the option (the second bind fails with EADDRINUSE); Node >= 22.12 binds both and the kernel
 * hashes each flow (4-tuple) to one socket.
 */
import { spawnSync } from 'node:child_process';

const PROBE = `
const dgram = require('node:dgram');
(async () => {
  const a = dgram.createSocket({ type: 'udp4', reusePort: true });
  await new Promise((r, j) => { a.once('error', j); a.bind(0, '127.0.0.1', r); });
  const port = a.address().port;
  const b = dgram.createSocket({ type: 'udp4', reusePort: true });
  try {
    await new Promise((r, j) => { b.once('error', j); b.bind(port, '127.0.0.1', r); });
  } catch (e) {
    console.log(JSON.stringify({ version: process.version, honoured: false, error: e.code }));
    a.close();
    return;
  }
  const counts = [0, 0];
  a.on('message', () => counts[0]++);
  b.on('message', () => counts[1]++);
  const cs = [];
  for (let i = 0; i < 16; i++) {
    const c = dgram.createSocket('udp4');
    cs.push(c);
    for (let k = 0; k < 10; k++) c.send('x', port, '127.0.0.1');
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const c of cs) c.close();
  a.close();
  b.close();
  console.log(JSON.stringify({ version: process.version, honoured: true, spread: counts }));
})();`;

export interface ReusePortProbe {
  readonly version: string;
  readonly honoured: boolean;
  readonly error?: string;
  readonly spread?: [number, number];
}

export function probeReusePort(node: string): ReusePortProbe | undefined {
  const r = spawnSync(node, ['-e', PROBE], { encoding: 'utf8', timeout: 10_000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ReusePortProbe;
  } catch {
    return undefined;
  }
}

export function describeProbe(p: ReusePortProbe | undefined): string {
  if (!p) return 'probe failed';
  return p.honoured
    ? `Node ${p.version}: reusePort honoured; 16 flows × 10 datagrams spread ${p.spread![0]}/${p.spread![1]} over two sockets (each flow sticks to one socket)`
    : `Node ${p.version}: reusePort ignored (second bind: ${p.error})`;
}
