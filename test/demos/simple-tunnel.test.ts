/**
 * SimpleTunnel, from the committed dist/eu-west/simple-tunnel.k8s.yaml: the greeter's pod and the
 * gateway's pod run as the cluster would run them; a datagram through the gateway to the
 * greeter's Service gets the greeting back, and a peer outside the route gets 403.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TurnClient, TurnError } from '../helpers/turn-client.js';
import { until } from '../helpers/wait.js';
import { canMapHosts, cleanUpPods, loadDist, loopback, type RunningPod, startPod, svc } from './demo-pods.js';

const NS = 'simple-tunnel';
const objects = loadDist('simple-tunnel.k8s.yaml');
const USER = 'tunnel-user';
const PASSWORD = randomBytes(18).toString('base64url');

interface Hello {
  readonly reply: string;
}

/**
 * One datagram through the gateway to `peer` and its answer: what `turncat - turn://... udp://peer`
 * does. The TURN client of the tests until turncat lands; then this is the one line to change.
 */
async function helloViaTurnClient(
  gateway: string,
  peer: { ip: string; port: number },
  text: string,
): Promise<Hello> {
  const c = await TurnClient.open({ host: gateway, port: 3478, username: USER, password: PASSWORD });
  try {
    await c.allocate();
    await c.createPermission(peer.ip);
    c.send({ family: 4, address: peer.ip, port: peer.port }, Buffer.from(text));
    await c.waitReceived(1, 5000);
    return { reply: c.payloads('data')[0]!.toString('utf8') };
  } finally {
    c.close();
  }
}
const hello = helloViaTurnClient;

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
    expect(err).toBeInstanceOf(TurnError);
    expect((err as TurnError).code).toBe(403);
    // the log line may follow the answer
    const denied = new RegExp(`permission denied .* to peer ${outside.replaceAll('.', '\\.')}`);
    await until('the denied peer in the gateway log', () => denied.test(gateway.output()), 3000);
  });
});
