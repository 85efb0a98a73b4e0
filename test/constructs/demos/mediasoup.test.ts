/**
 * MediasoupDemo: schema-valid objects (Ingress, Certificate and ClusterIssuer included), the route
 * admitting exactly the RTC range on the mediasoup pods, mediasoup's addresses from the pod IP,
 * the validation errors; and the landing server for real, from the committed
 * dist/eu-west/mediasoup.k8s.yaml: its pod asks the ICE auth service's pod, redirects the browser
 * with credentials that coturn's turnutils_uclient relays with through the gateway's pod to a
 * peer in the RTC range, and that the gateway refuses (401) once they expired.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediasoupDemo, type MediasoupDemoProps } from '../../../constructs/demos/index.js';
import { TurnAuth } from '../../../constructs/index.js';
import {
  canMapHosts,
  cleanUpPods,
  loadDist,
  loopback,
  startAuthPod,
  startPod,
  svc,
} from '../../helpers/demo-pods.js';
import { K8sApiDouble, service } from '../../helpers/k8s-api-double.js';
import { TurnClient, TurnError } from '../../helpers/turn-client.js';
import { runUclient, startPeer } from '../../helpers/uclient.js';
import {
  dataplaneConfig,
  find,
  type Manifest,
  synthErrors,
  synthWithRuntime,
  validateManifest,
} from '../helpers.js';

const NS = 'mediasoup';
const HOST = 'mediasoup-203.0.113.7.nip.io';

function synthDemo(props: Partial<MediasoupDemoProps> = {}): Manifest[] {
  const c = new Chart(Testing.app(), 'c', { namespace: NS });
  new MediasoupDemo(c, 'demo', { host: HOST, ...props });
  return synthWithRuntime(c);
}

/** The demo's own validation messages (without the `[path]` prefix). */
function errors(props: Partial<MediasoupDemoProps>): string[] {
  const c = new Chart(Testing.app(), 'c', { namespace: NS });
  new MediasoupDemo(c, 'demo', { host: HOST, ...props } as MediasoupDemoProps);
  return synthErrors(c)
    .filter((e) => e.startsWith('[c/demo] '))
    .map((e) => e.slice('[c/demo] '.length));
}

const container = (objs: Manifest[], deployment: string) =>
  find(objs, 'Deployment', deployment).spec.template.spec.containers[0];
const envOf = (c: { env: { name: string; value?: string; valueFrom?: unknown }[] }) =>
  Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom]));

describe('MediasoupDemo: the objects', () => {
  it('every object is schema-valid (Ingress, Certificate and the optional ClusterIssuer too)', () => {
    const objs = synthDemo({ tls: { createClusterIssuer: true, email: 'ops@example.com' } });
    for (const o of objs) validateManifest(o);
    for (const [kind, name] of [
      ['Deployment', 'mediasoup-server'],
      ['Service', 'mediasoup-server'],
      ['Service', 'mediasoup-media'],
      ['Deployment', 'mediasoup-landing'],
      ['Service', 'mediasoup-landing'],
      ['Deployment', 'udp-gateway'],
      ['Deployment', 'stunner-auth'],
      ['Ingress', 'mediasoup-landing'],
      ['Ingress', 'mediasoup-server'],
      ['Certificate', 'mediasoup-tls'],
    ] as const)
      find(objs, kind, name, NS);
    const issuer = find(objs, 'ClusterIssuer', 'letsencrypt-prod');
    expect(issuer.metadata.namespace).toBeUndefined();
    expect(issuer.spec.acme).toMatchObject({
      server: 'https://acme-v02.api.letsencrypt.org/directory',
      email: 'ops@example.com',
      solvers: [{ http01: { ingress: { ingressClassName: 'nginx' } } }],
    });
    // by default the cluster's own ClusterIssuer is used, not rendered
    expect(synthDemo().filter((o) => o.kind === 'ClusterIssuer')).toEqual([]);
  });

  it('mediasoup announces and listens on the pod IP, on the RTC range of the props, in the chosen image', () => {
    const objs = synthDemo({
      rtcPorts: { min: 50000, max: 50099 },
      image: 'registry.example.com/ms@sha256:ab',
    });
    const c = container(objs, 'mediasoup-server');
    expect(c.image).toBe('registry.example.com/ms@sha256:ab');
    const podIP = { fieldRef: { fieldPath: 'status.podIP' } };
    expect(envOf(c)).toEqual({
      PROTOO_LISTEN_PORT: '443',
      MEDIASOUP_ANNOUNCED_IP: podIP,
      MEDIASOUP_LISTEN_IP: podIP,
      MEDIASOUP_MIN_PORT: '50000',
      MEDIASOUP_MAX_PORT: '50099',
    });
    expect(container(synthDemo(), 'mediasoup-server').image).toBe(
      'docker.io/l7mp/mediasoup-demo-docker:latest',
    );
  });

  it('the route admits exactly the RTC range on the mediasoup pods: dataplane endpoints and NetworkPolicy', () => {
    for (const [min, max] of [
      [40000, 49999],
      [50000, 50099],
    ] as const) {
      const objs = synthDemo({ rtcPorts: { min, max } });
      const cfg = dataplaneConfig(objs, 'udp-gateway');
      expect(cfg.listeners.map((l: { routes: string[] }) => l.routes)).toEqual([[`${NS}/mediasoup-media`]]);
      expect(cfg.clusters).toEqual([
        {
          name: `${NS}/mediasoup-media`,
          type: 'STRICT_DNS',
          protocol: 'UDP',
          endpoints: [`${svc('mediasoup-media', NS)}:<${min}-${max}>`],
        },
      ]);
      const media = find(objs, 'Service', 'mediasoup-media');
      expect(media.spec.clusterIP).toBe('None');
      const pods = find(objs, 'Deployment', 'mediasoup-server').spec.template.metadata.labels;
      for (const [k, v] of Object.entries<string>(media.spec.selector)) expect(pods[k]).toBe(v);
      const egress = find(objs, 'NetworkPolicy', 'udp-gateway').spec.egress;
      const toMedia = egress.filter((r: Manifest) => r.to?.some((t: Manifest) => t.podSelector));
      expect(toMedia).toEqual([
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
              podSelector: { matchLabels: media.spec.selector },
            },
          ],
          ports: [{ protocol: 'UDP', port: min, endPort: max }],
        },
      ]);
    }
  });

  it('the landing host serves the landing server, the app host the HTTPS app; one Certificate for both', () => {
    const objs = synthDemo({ ingressClass: 'nginx', iceTtlSeconds: 600 });
    const landing = find(objs, 'Ingress', 'mediasoup-landing');
    const app = find(objs, 'Ingress', 'mediasoup-server');
    const rule = (i: Manifest) => [i.spec.rules[0].host, i.spec.rules[0].http.paths[0].backend.service];
    expect(rule(landing)).toEqual([HOST, { name: 'mediasoup-landing', port: { name: 'http' } }]);
    expect(rule(app)).toEqual([`app.${HOST}`, { name: 'mediasoup-server', port: { name: 'https' } }]);
    expect(landing.metadata.annotations?.['nginx.ingress.kubernetes.io/backend-protocol']).toBeUndefined();
    expect(app.metadata.annotations['nginx.ingress.kubernetes.io/backend-protocol']).toBe('HTTPS');
    for (const i of [landing, app]) {
      expect(i.spec.ingressClassName).toBe('nginx');
      expect(i.spec.tls).toEqual([{ hosts: [i.spec.rules[0].host], secretName: 'mediasoup-tls' }]);
    }
    expect(find(objs, 'Certificate', 'mediasoup-tls').spec).toEqual({
      secretName: 'mediasoup-tls',
      dnsNames: [HOST, `app.${HOST}`],
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'letsencrypt-prod' },
    });
    const env = envOf(container(objs, 'mediasoup-landing'));
    expect(env).toMatchObject({
      MEDIASOUP_URL: `https://app.${HOST}/`,
      STUNNER_AUTH_URL: `http://stunner-auth.${NS}.svc.cluster.local:8088`,
      STUNNER_GATEWAY: 'udp-gateway',
      ICE_TTL_SECONDS: '600',
    });
    // only the landing server may ask the ICE auth service for credentials
    const authPolicy = find(objs, 'NetworkPolicy', 'stunner-auth').spec.ingress;
    expect(JSON.stringify(authPolicy)).toContain('"app.kubernetes.io/name":"mediasoup-landing"');
  });

  it('reports bad props: range, hosts, issuer e-mail, static credentials, TTL', () => {
    expect(errors({ rtcPorts: { min: 49999, max: 40000 } })).toContain(
      'rtcPorts.min 49999 is above rtcPorts.max 40000',
    );
    expect(errors({ rtcPorts: { min: 40000, max: 70000 } })).toContain(
      'rtcPorts.max 70000 is not a valid port',
    );
    expect(errors({ rtcPorts: { min: 1, max: 1000 } }).join('\n')).toMatch(/holds 443/);
    expect(errors({ host: '' }).join('\n')).toMatch(/host is missing/);
    expect(errors({ host: undefined as unknown as string }).join('\n')).toMatch(/host is missing/);
    expect(errors({ host: 'Not A Host!' }).join('\n')).toMatch(/host "Not A Host!" is not a DNS name/);
    expect(errors({ appHost: HOST }).join('\n')).toMatch(/appHost must differ from host/);
    expect(errors({ tls: { createClusterIssuer: true } }).join('\n')).toMatch(/tls.email is required/);
    expect(errors({ auth: TurnAuth.fromSecret('stunner-auth') }).join('\n')).toMatch(
      /auth must be ephemeral/,
    );
    expect(errors({ iceTtlSeconds: 5 }).join('\n')).toMatch(/iceTtlSeconds 5/);
    expect(errors({})).toEqual([]);
  });
});

// ---- the landing server, run from the committed YAML ----

const committed = loadDist('mediasoup.k8s.yaml');
const SECRETS = { 'stunner-auth-secret': { secret: randomBytes(24).toString('base64url') } };
const TTL = 15;
const IP = { gateway: loopback(), auth: loopback(), landing: loopback(), media: loopback() };
const HOSTS = { [svc('stunner-auth', NS)]: IP.auth, [svc('mediasoup-media', NS)]: IP.media };

/** The committed objects, with the landing server asking for short-lived credentials. */
function withShortTtl(objs: Manifest[]): Manifest[] {
  return objs.map((o) => {
    if (o.kind !== 'Deployment' || o.metadata.name !== 'mediasoup-landing') return o;
    const copy = structuredClone(o);
    for (const e of copy.spec.template.spec.containers[0].env)
      if (e.name === 'ICE_TTL_SECONDS') e.value = String(TTL);
    return copy;
  });
}

/** An Allocate with the redirect's credentials: undefined when it succeeds, else the error. */
async function allocateWith(q: Record<string, string>): Promise<unknown> {
  const client = await TurnClient.open({
    host: q['iceServerHost']!,
    port: Number(q['iceServerPort']),
    username: q['iceServerUser']!,
    password: q['iceServerPass']!,
  });
  try {
    await client.allocate();
    return undefined;
  } catch (e) {
    return e;
  } finally {
    client.close();
  }
}

const api = new K8sApiDouble();
const work = mkdtempSync(join(tmpdir(), 'mediasoup-demo-'));

describe('MediasoupDemo: the landing server from the committed YAML, run as its pods', () => {
  beforeAll(async () => {
    if (!canMapHosts())
      throw new Error(
        'these tests give each pod its cluster DNS names through its own /etc/hosts (unshare -m and a bind mount), which this machine refuses: run them as root or where user namespaces are allowed',
      );
    await api.start();
    api.upsert(
      'services',
      service(NS, 'udp-gateway', {
        type: 'LoadBalancer',
        clusterIP: '10.0.0.1',
        ingress: [{ ip: IP.gateway }],
      }),
    );
    const token = join(work, 'token');
    writeFileSync(token, api.token);
    const objs = withShortTtl(committed);
    await startAuthPod(objs, 'stunner-auth', {
      ip: IP.auth,
      secrets: SECRETS,
      extraArgs: ['--kube-api-server', api.url, '--kube-token-file', token],
      ready: 'stunnerd auth ready',
    });
    await startPod(objs, 'mediasoup-landing', {
      ip: IP.landing,
      hosts: HOSTS,
      ready: 'mediasoup-landing ready',
    });
    await startPod(objs, 'udp-gateway', {
      ip: IP.gateway,
      secrets: SECRETS,
      hosts: HOSTS,
      ready: 'stunnerd ready',
    });
  }, 90_000);

  afterAll(async () => {
    await cleanUpPods();
    await api.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('GET / redirects (302, no-store) to the app with credentials that relay through the gateway and expire on time', async () => {
    const res = await fetch(`http://${IP.landing}:8000/?roomId=demo-room`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const to = new URL(res.headers.get('location')!);
    expect(`${to.origin}${to.pathname}`).toBe('https://app.mediasoup-198.51.100.80.nip.io/');
    const q = Object.fromEntries(to.searchParams);
    expect(q).toMatchObject({
      roomId: 'demo-room',
      enableIceServer: 'yes',
      iceServerHost: IP.gateway,
      iceServerPort: '3478',
      iceServerProto: 'udp',
    });
    // a TURN REST API username: <expiry>:<user>, TTL seconds from now
    const expiry = Number(q['iceServerUser']!.split(':')[0]);
    expect(Math.abs(expiry - (Date.now() / 1000 + TTL))).toBeLessThanOrEqual(2);
    expect(q['iceServerPass']).toMatch(/\S{16,}/);

    // a peer on the mediasoup pods' address, inside the RTC range the route admits
    const peer = await startPeer(randomInt(40000, 49990), IP.media);
    const relay = () =>
      runUclient(
        [
          ...['-u', q['iceServerUser']!, '-w', q['iceServerPass']!, '-n', '10', '-m', '1', '-l', '100'],
          ...['-p', q['iceServerPort']!, '-e', IP.media, '-r', String(peer.port), q['iceServerHost']!],
        ],
        15_000,
      );
    try {
      expect(await allocateWith(q)).toBeUndefined();
      const fresh = await relay(); // takes some seconds: TTL leaves room for it
      expect(fresh.received, fresh.output).toBeGreaterThan(0);
      expect(fresh.lost, fresh.output).toBe(0);
      // the gateway's clock passes the username's expiry
      const wait = expiry * 1000 + 1500 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const late = await relay();
      expect(late.output).toMatch(/Cannot complete Allocation/);
      expect(late.received ?? 0).toBe(0);
      // uclient does not print the error code: the same Allocate from our client gets 401
      const refused = await allocateWith(q);
      expect(refused).toBeInstanceOf(TurnError);
      expect((refused as TurnError).code).toBe(401);
    } finally {
      peer.stop();
    }
  }, 45_000);

  it('every visit gets credentials of its own', async () => {
    const users = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://${IP.landing}:8000/`, { redirect: 'manual' });
      users.add(new URL(res.headers.get('location')!).searchParams.get('iceServerUser')!);
    }
    expect(users.size).toBe(3);
  });
});
