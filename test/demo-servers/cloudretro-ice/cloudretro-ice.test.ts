/**
 * The CloudRetro coordinator's ICE step, run for real: the synthesized ICE auth service pod
 * (following the gateway's load-balancer address through the labelled Kubernetes API test double)
 * and the synthesized cloudretro-ice sidecar, each run as its pod (test/helpers/demo-pods.ts). The
 * step must write CloudRetro's config, rewrite it when the gateway's address changes (and ask for
 * a coordinator restart once), and keep the last good config, saying why, when the service stops.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CloudRetroDemo } from '../../../constructs/demos/index.js';
import { TurnAuth } from '../../../constructs/index.js';
import { type CloudRetroIceServer, parseCloudRetroIceEnv } from '../../../contract/cloudretro.js';
import { type Manifest, synthWithRuntime } from '../../constructs/helpers.js';
import {
  canMapHosts,
  cleanUpPods,
  cloudretroSidecarAsPod,
  loopback,
  type RunningPod,
  startAuthPod,
  startPod,
  svc,
} from '../../helpers/demo-pods.js';
import { K8sApiDouble, service } from '../../helpers/k8s-api-double.js';

const NS = 'cloudretro';
const SECRET = 'cloudretro-ice-test-shared-secret-0123456789';
const api = new K8sApiDouble();
const work = mkdtempSync(join(tmpdir(), 'cloudretro-ice-'));
const IP = { auth: loopback(), step: loopback() };
let objects: Manifest[];
let auth: RunningPod;
let step: RunningPod;

function synth(): Manifest[] {
  const chart = new Chart(Testing.app(), 'c', { namespace: NS });
  new CloudRetroDemo(chart, 'demo', {
    auth: TurnAuth.inlineEphemeral(SECRET),
    iceTtlSeconds: 3600,
    icePollSeconds: 1,
  });
  return synthWithRuntime(chart);
}

const lb = (ip: string) =>
  service(NS, 'udp-gateway', {
    type: 'LoadBalancer',
    clusterIP: '10.0.0.1',
    ports: [{ name: 'udp-listener', port: 3478, protocol: 'UDP' }],
    ingress: [{ ip }],
  });

/** The env file as the coordinator's shell sees it (single-quoted values). */
function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]!] = m[2]!.replaceAll(`'\\''`, "'");
  }
  return env;
}

function written(): { yaml: CloudRetroIceServer[]; env: CloudRetroIceServer[]; text: string } {
  const dir = join(step.sandbox!.cwd, 'cloudretro');
  const text = readFileSync(join(dir, 'config.yaml'), 'utf8');
  return {
    yaml: parse(text).webrtc.iceServers,
    env: parseCloudRetroIceEnv(readEnvFile(join(dir, 'ice.env'))),
    text,
  };
}

async function until<T>(what: string, f: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = f();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${step?.output() ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function expectServer(s: CloudRetroIceServer | undefined, address: string): void {
  expect(s?.urls).toBe(`turn:${address}:3478?transport=udp`);
  expect(s?.username).toMatch(/^\d+:cloudretro$/);
  // minted from the gateway's shared secret, for an hour
  expect(s?.credential).toBe(createHmac('sha1', SECRET).update(s!.username!).digest('base64'));
  const expiry = Number(s!.username!.split(':')[0]);
  expect(Math.abs(expiry - (Date.now() / 1000 + 3600))).toBeLessThan(60);
}

const mapHosts = canMapHosts();

describe('cloudretro-ice, run as its container against a running ICE auth service', () => {
  beforeAll(async () => {
    // A missing capability fails the run: a skipped check would pass for nothing.
    if (!mapHosts)
      throw new Error(
        'these tests give each pod its cluster DNS names through its own /etc/hosts (unshare -m and a bind mount), which this machine refuses: run them as root or where user namespaces are allowed',
      );
    objects = synth();
    await api.start();
    api.upsert('services', lb('198.51.100.7'));
    const token = join(work, 'token');
    writeFileSync(token, api.token);
    auth = await startAuthPod(objects, 'stunner-auth', {
      ip: IP.auth,
      extraArgs: ['--kube-api-server', api.url, '--kube-token-file', token],
      ready: 'stunnerd auth ready',
    });
    step = await startPod(cloudretroSidecarAsPod(objects), 'coordinator-deployment', {
      ip: IP.step,
      hosts: { [svc('stunner-auth', NS)]: IP.auth },
      ready: /wrote cloudretro\/ \(first config\)/,
    });
  }, 60_000);
  afterAll(async () => {
    await cleanUpPods();
    await api.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("writes the gateway's address and fresh credentials in CloudRetro's config file and env file", async () => {
    const w = written();
    expect(w.yaml).toHaveLength(1);
    expectServer(w.yaml[0], '198.51.100.7');
    expect(w.env).toEqual(w.yaml);
    expect((await fetch(`http://${IP.step}:8090/ready`)).status).toBe(200);
    expect((await fetch(`http://${IP.step}:8090/coordinator`)).status).toBe(200);
  });

  it("rewrites them when the gateway's public address changes, and has the coordinator restarted once", async () => {
    api.upsert('services', lb('198.51.100.8'));
    const w = await until('the rewrite', () => {
      const x = written();
      return x.yaml[0]?.urls.includes('198.51.100.8') ? x : undefined;
    });
    expectServer(w.yaml[0], '198.51.100.8');
    expect(w.env).toEqual(w.yaml);
    expect(step.output()).toMatch(/ICE servers changed/);
    expect((await fetch(`http://${IP.step}:8090/coordinator`)).status).toBe(503);
    expect((await fetch(`http://${IP.step}:8090/coordinator`)).status).toBe(200);
  });

  it('keeps the last good config and says why when the ICE auth service stops', async () => {
    const before = written().text;
    await auth.stop();
    await until('the failure', () =>
      /cannot get the ICE servers from http:\/\/stunner-auth\.cloudretro\.svc\.cluster\.local:8088.*keeping the last good config/.test(
        step.output(),
      )
        ? true
        : undefined,
    );
    expect(written().text).toBe(before);
    const status = await fetch(`http://${IP.step}:8090/status`);
    expect(status.status).toBe(503);
    expect(((await status.json()) as { lastError: string }).lastError).toMatch(/cannot get the ICE servers/);
    expect((await fetch(`http://${IP.step}:8090/ready`)).status).toBe(200);
  });
});
