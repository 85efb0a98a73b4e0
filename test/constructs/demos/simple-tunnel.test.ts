/**
 * SimpleTunnel, from the committed dist/eu-west/simple-tunnel.k8s.yaml: the greeter's pod and the
 * gateway's pod run as the cluster would run them; a datagram through the gateway to the
 * greeter's Service gets the greeting back, and a peer outside the route gets 403.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canMapHosts,
  cleanUpPods,
  loadDist,
  loopback,
  type RunningPod,
  startPod,
  svc,
} from '../../helpers/demo-pods.js';
import { until } from '../../helpers/wait.js';

const NS = 'simple-tunnel';
const objects = loadDist('simple-tunnel.k8s.yaml');
const USER = 'tunnel-user';
const PASSWORD = randomBytes(18).toString('base64url');

interface Hello {
  readonly reply: string;
}

const TURNCAT = join(import.meta.dirname, '..', '..', '..', 'bin', 'turncat.mjs');

/**
 * What the tutorial does: `echo <text> | turncat - turn://user:pass@<gateway>:3478 udp://<peer>`,
 * the turncat bin as a child process. Resolves with its stdout, or rejects with its one-line error.
 */
function hello(gateway: string, peer: { ip: string; port: number }, text: string): Promise<Hello> {
  const proc = spawn(
    process.execPath,
    [
      TURNCAT,
      '--linger',
      '3000',
      '-',
      `turn://${USER}:${PASSWORD}@${gateway}:3478`,
      `udp://${peer.ip}:${peer.port}`,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  proc.stdin.end(text);
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0 && out.length > 0) resolve({ reply: out });
      else reject(new Error(`turncat exited ${code}: ${err.trim() || 'no reply'}`));
    });
  });
}

const mapHosts = canMapHosts();

describe('SimpleTunnel: the committed YAML, run as its pods', () => {
  let gateway: RunningPod;
  let greeter: RunningPod;
  const greeterPort = 9001;
  beforeAll(async () => {
    // A missing capability fails the run: a skipped check would pass for nothing.
    if (!mapHosts)
      throw new Error(
        'these tests give each pod its cluster DNS names through its own /etc/hosts (unshare -m and a bind mount), which this machine refuses: run them as root or where user namespaces are allowed',
      );
    greeter = await startPod(objects, 'udp-greeter', { ready: 'udp-greeter ready' });
    gateway = await startPod(objects, 'udp-gateway', {
      secrets: { 'stunner-auth': { username: USER, password: PASSWORD } },
      hosts: { [svc('udp-greeter', NS)]: greeter.ip },
      ready: 'stunnerd ready',
    });
  }, 60_000);
  afterAll(cleanUpPods);

  it('the greeter listens on its pod address, on the port the route admits', () => {
    expect(greeter.output()).toContain(`udp-greeter ready on ${greeter.ip}:${greeterPort}`);
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'udp-gateway-config');
    expect(JSON.parse(config.data['stunnerd.conf']).clusters).toEqual([
      {
        name: `${NS}/udp-greeter`,
        type: 'STRICT_DNS',
        protocol: 'UDP',
        endpoints: [`${svc('udp-greeter', NS)}:<${greeterPort}-${greeterPort}>`],
      },
    ]);
  });

  it('a datagram through the gateway gets the greeting back', async () => {
    const r = await hello(gateway.ip, { ip: greeter.ip, port: greeterPort }, 'hi from the tests');
    expect(r.reply).toBe('Hello from the udp-greeter: hi from the tests');
    expect(greeter.output()).toMatch(new RegExp(`greeting ${gateway.ip.replaceAll('.', '\\.')}:\\d+`));
  });

  it('a peer outside the route gets 403, and the gateway logs it', async () => {
    const outside = loopback();
    const err = await hello(gateway.ip, { ip: outside, port: greeterPort }, 'hi').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    // turncat's 403 line: the peer is outside the routes of the listener it reached.
    const listener = `${gateway.ip}:3478`.replaceAll('.', '\\.');
    expect((err as Error).message).toMatch(
      new RegExp(
        `exited 1: .*peer ${outside.replaceAll('.', '\\.')}:${greeterPort} is outside the routes of listener "${listener}" \\(403`,
      ),
    );
    // the log line may follow the answer
    const denied = new RegExp(`permission denied .* to peer ${outside.replaceAll('.', '\\.')}`);
    await until('the denied peer in the gateway log', () => denied.test(gateway.output()), 3000);
  });
});
