/**
 * CloudRetroDemo's wiring: schema-valid objects, the route admitting only the workers' media
 * port, the coordinator's ICE servers in CloudRetro's format (from props, or the ICE step's
 * sources), the workers' coordinator address in each cluster, and the multi-cluster layout.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CLUSTERS } from '../../../charts-ts/clusters.js';
import { CloudRetroDemo, type CloudRetroDemoProps } from '../../../constructs/demos/index.js';
import { ClusterDestination, GitOpsCluster, MultiClusterApp } from '../../../constructs/gitops/index.js';
import { TurnAuth } from '../../../constructs/index.js';
import { parseCloudRetroIceEnv } from '../../../contract/cloudretro.js';
import { dataplaneConfig, find, type Manifest, synthErrors, validateManifest } from '../helpers.js';

const NS = 'cloudretro';
const work = mkdtempSync(join(tmpdir(), 'cloudretro-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function chart(): Chart {
  return new Chart(Testing.app(), 'c', { namespace: NS });
}

const container = (objs: Manifest[], deployment: string, name: string) => {
  const spec = find(objs, 'Deployment', deployment).spec.template.spec;
  return [...(spec.initContainers ?? []), ...spec.containers].find((c: { name: string }) => c.name === name);
};
const envOf = (c: { env?: { name: string; value?: string }[] }) =>
  Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

describe('CloudRetroDemo, one cluster', () => {
  it('renders schema-valid objects with STUNner demo names; the route admits only worker-ci-udp-svc:8443', () => {
    const c = chart();
    new CloudRetroDemo(c, 'demo', { publicAddress: '198.51.100.10' });
    const objs = Testing.synth(c);
    for (const o of objs) validateManifest(o);
    for (const [kind, name] of [
      ['Deployment', 'coordinator-deployment'],
      ['Deployment', 'worker-deployment'],
      ['Service', 'coordinator-lb-svc'],
      ['Service', 'worker-lb-svc'],
      ['Service', 'worker-ci-udp-svc'],
      ['Deployment', 'udp-gateway'],
      ['Deployment', 'stunner-auth'],
    ])
      find(objs, kind!, name, NS);
    const media = find(objs, 'Service', 'worker-ci-udp-svc');
    expect(media.spec).toMatchObject({ type: 'ClusterIP' });
    expect(media.spec.ports).toEqual([{ name: 'media', port: 8443, targetPort: 'media', protocol: 'UDP' }]);
    const workers = find(objs, 'Deployment', 'worker-deployment').spec.template;
    for (const [k, v] of Object.entries<string>(media.spec.selector))
      expect(workers.metadata.labels[k]).toBe(v);
    expect(container(objs, 'worker-deployment', 'worker').ports).toContainEqual({
      name: 'media',
      containerPort: 8443,
      protocol: 'UDP',
    });

    const cfg = dataplaneConfig(objs, 'udp-gateway');
    expect(cfg.listeners.map((l: { routes: string[] }) => l.routes)).toEqual([[`${NS}/worker-udp-route`]]);
    expect(cfg.clusters).toEqual([
      expect.objectContaining({
        name: `${NS}/worker-udp-route`,
        type: 'STRICT_DNS',
        endpoints: [`worker-ci-udp-svc.${NS}.svc.cluster.local:<8443-8443>`],
      }),
    ]);
  });

  it("workers reach the coordinator through its Service's cluster DNS name", () => {
    const c = chart();
    new CloudRetroDemo(c, 'demo');
    const env = envOf(container(Testing.synth(c), 'worker-deployment', 'worker'));
    expect(env['CLOUD_GAME_WORKER_NETWORK_COORDINATORADDRESS']).toBe(
      `coordinator-lb-svc.${NS}.svc.cluster.local:8000`,
    );
    expect(env['CLOUD_GAME_WEBRTC_SINGLEPORT']).toBe('8443');
  });

  it("ICE servers from props: the coordinator's CloudRetro variables are the gateway's listener, address and Secret", () => {
    const c = chart();
    new CloudRetroDemo(c, 'demo', {
      iceServersFrom: 'props',
      publicAddress: 'turn.example.com',
      port: 3479,
      auth: TurnAuth.fromSecret('stunner-auth'),
    });
    const objs = Testing.synth(c);
    for (const o of objs) validateManifest(o);
    const coord = container(objs, 'coordinator-deployment', 'coordinator');
    expect(coord.command).toEqual(['coordinator', '--v=5']);
    const listener = dataplaneConfig(objs, 'udp-gateway').listeners[0];
    expect(listener).toMatchObject({ public_address: 'turn.example.com', port: 3479, protocol: 'TURN-UDP' });
    expect(parseCloudRetroIceEnv(envOf(coord))).toEqual([
      { urls: 'turn:turn.example.com:3479?transport=udp' },
    ]);
    const refs = Object.fromEntries(
      coord.env.filter((e: Manifest) => e.valueFrom).map((e: Manifest) => [e.name, e.valueFrom.secretKeyRef]),
    );
    expect(refs).toEqual({
      CLOUD_GAME_WEBRTC_ICESERVERS_0_USERNAME: { name: 'stunner-auth', key: 'username' },
      CLOUD_GAME_WEBRTC_ICESERVERS_0_CREDENTIAL: { name: 'stunner-auth', key: 'password' },
    });
    // no ICE step, no ICE auth service
    expect(objs.filter((o) => o.metadata.name === 'stunner-auth')).toEqual([]);
    expect(
      find(objs, 'Deployment', 'coordinator-deployment').spec.template.spec.initContainers,
    ).toBeUndefined();
  });

  it('ICE servers from props with inline credentials: a Secret rendered for them, referenced by the variables', () => {
    const c = chart();
    new CloudRetroDemo(c, 'demo', {
      iceServersFrom: 'props',
      publicAddress: '198.51.100.10',
      auth: TurnAuth.inline('cloudretro', 'a-strong-password-0123'),
    });
    const objs = Testing.synth(c);
    const coord = container(objs, 'coordinator-deployment', 'coordinator');
    // no plain env value carries the password; the Deployment does not contain it at all
    expect(JSON.stringify(find(objs, 'Deployment', 'coordinator-deployment'))).not.toContain(
      'a-strong-password-0123',
    );
    const secret = find(objs, 'Secret', 'coordinator-deployment-turn-credentials-0');
    validateManifest(secret);
    expect(secret.stringData).toEqual({ username: 'cloudretro', password: 'a-strong-password-0123' });
    const byName = Object.fromEntries(coord.env.map((e: Manifest) => [e.name, e]));
    expect(byName['CLOUD_GAME_WEBRTC_ICESERVERS_0_URLS'].value).toBe('turn:198.51.100.10:3478?transport=udp');
    for (const [v, key] of [
      ['CLOUD_GAME_WEBRTC_ICESERVERS_0_USERNAME', 'username'],
      ['CLOUD_GAME_WEBRTC_ICESERVERS_0_CREDENTIAL', 'password'],
    ]) {
      expect(byName[v!]).toEqual({
        name: v,
        valueFrom: { secretKeyRef: { name: 'coordinator-deployment-turn-credentials-0', key } },
      });
    }
  });

  it("ICE servers from the ICE auth service: a native sidecar asks this cluster's service; the coordinator reads its files", () => {
    const c = chart();
    const demo = new CloudRetroDemo(c, 'demo', { iceTtlSeconds: 7200 });
    const objs = Testing.synth(c);
    const pod = find(objs, 'Deployment', 'coordinator-deployment').spec.template.spec;
    const step = pod.initContainers[0];
    expect(step).toMatchObject({ name: 'cloudretro-ice', restartPolicy: 'Always' });
    expect(step.startupProbe.httpGet).toMatchObject({ path: '/ready', port: 8090 });
    const env = envOf(step);
    expect(JSON.parse(env['CLOUDRETRO_ICE_SOURCES']!)).toEqual([
      { url: demo.iceAuth!.url, namespace: NS, gateway: 'udp-gateway' },
    ]);
    expect(demo.iceAuth!.url).toBe(`http://stunner-auth.${NS}.svc.cluster.local:8088`);
    expect(env['ICE_TTL_SECONDS']).toBe('7200');
    const coord = pod.containers[0];
    expect(coord.livenessProbe.httpGet).toMatchObject({ path: '/coordinator', port: 8090 });
    expect(coord.command.join(' ')).toContain('. /cloudretro/.cr/ice.env');
    expect(envOf(coord)['HOME']).toBe('/cloudretro');
    // the step's and the coordinator's mounts are one volume
    const stepMount = step.volumeMounts.find((m: Manifest) =>
      m.mountPath.endsWith(`/${env['CLOUDRETRO_CONFIG_DIR']}`),
    );
    const coordMount = coord.volumeMounts.find((m: Manifest) => m.mountPath === '/cloudretro/.cr');
    expect(stepMount.name).toBe(coordMount.name);
    expect(pod.volumes.find((v: Manifest) => v.name === coordMount.name).emptyDir).toBeDefined();
  });

  it('fails synth with the reason for props mode without an address or with ephemeral credentials', () => {
    const c = chart();
    new CloudRetroDemo(c, 'demo', { iceServersFrom: 'props' });
    const errors = synthErrors(c).join('\n');
    expect(errors).toMatch(/needs the gateway's publicAddress/);
    expect(errors).toMatch(/needs static TURN credentials/);
  });
});

const PRIMARY_AUTH = TurnAuth.fromSecret('stunner-auth');

function twoClusters(mode: CloudRetroDemoProps['iceServersFrom'], outdir: string): void {
  const [eu, us] = [
    new GitOpsCluster({
      name: 'eu',
      destination: ClusterDestination.byServer('https://eu.example.com:6443'),
    }),
    new GitOpsCluster({
      name: 'us',
      destination: ClusterDestination.byServer('https://us.example.com:6443'),
    }),
  ];
  const layout = new MultiClusterApp({ clusters: [eu!, us!], outdir, onWarning: () => {} });
  let primary: CloudRetroDemo | undefined;
  layout.addCharts((scope, cluster) => {
    const c = new Chart(scope, 'cloudretro', { namespace: NS });
    if (cluster === eu)
      primary = new CloudRetroDemo(c, 'demo', {
        iceServersFrom: mode,
        auth: PRIMARY_AUTH,
        publicAddress: '198.51.100.10',
        coordinatorAddress: 'cloudretro.eu.example.com',
      });
    else
      new CloudRetroDemo(c, 'demo', {
        primary: primary!,
        auth: PRIMARY_AUTH,
        publicAddress: '203.0.113.20',
        iceAuthUrl: 'http://ice.us.internal:8088',
      });
  });
  layout.synth();
}

const load = (file: string): Manifest[] => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());

describe('CloudRetroDemo, two clusters', () => {
  it('one directory per cluster, each with only its own objects; workers find the coordinator in each', () => {
    const out = join(work, 'props');
    twoClusters('props', out);
    expect(readdirSync(out).sort()).toEqual(['argocd', 'eu', 'us']);
    // each cluster's chart, and the runtime of its namespace in a file of its own
    for (const c of ['eu', 'us'])
      expect(readdirSync(join(out, c)).sort()).toEqual([
        'cloudretro.k8s.yaml',
        `stunnerd-runtime-${NS}.k8s.yaml`,
      ]);
    const eu = load(join(out, 'eu', 'cloudretro.k8s.yaml'));
    const us = load(join(out, 'us', 'cloudretro.k8s.yaml'));
    for (const o of [...eu, ...us]) validateManifest(o);
    for (const c of ['eu', 'us']) {
      const runtime = load(join(out, c, `stunnerd-runtime-${NS}.k8s.yaml`));
      expect(runtime.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
        `ConfigMap ${NS}/stunnerd-runtime`,
      ]);
      validateManifest(runtime[0]);
    }
    find(eu, 'Deployment', 'coordinator-deployment');
    expect(us.filter((o) => o.metadata.name.startsWith('coordinator'))).toEqual([]);
    find(us, 'Deployment', 'worker-deployment');
    find(us, 'Deployment', 'udp-gateway');
    expect(
      envOf(container(eu, 'worker-deployment', 'worker'))['CLOUD_GAME_WORKER_NETWORK_COORDINATORADDRESS'],
    ).toBe(`coordinator-lb-svc.${NS}.svc.cluster.local:8000`);
    expect(
      envOf(container(us, 'worker-deployment', 'worker'))['CLOUD_GAME_WORKER_NETWORK_COORDINATORADDRESS'],
    ).toBe('cloudretro.eu.example.com:8000');
    // the coordinator lists both clusters' gateways, each at its listener's public address
    const coord = container(eu, 'coordinator-deployment', 'coordinator');
    const servers = parseCloudRetroIceEnv(envOf(coord)).map((s) => s.urls);
    const addr = (objs: Manifest[]) => {
      const l = dataplaneConfig(objs, 'udp-gateway').listeners[0];
      return `turn:${l.public_address}:${l.port}?transport=udp`;
    };
    expect(servers).toEqual([addr(eu), addr(us)]);
    expect(servers).toEqual([
      'turn:198.51.100.10:3478?transport=udp',
      'turn:203.0.113.20:3478?transport=udp',
    ]);
  });

  it("ICE auth service mode: the step asks both clusters' ICE auth services", () => {
    const out = join(work, 'ice');
    twoClusters('ice-auth-service', out);
    const eu = load(join(out, 'eu', 'cloudretro.k8s.yaml'));
    const us = load(join(out, 'us', 'cloudretro.k8s.yaml'));
    find(us, 'Deployment', 'stunner-auth');
    const step = container(eu, 'coordinator-deployment', 'cloudretro-ice');
    expect(JSON.parse(envOf(step)['CLOUDRETRO_ICE_SOURCES']!)).toEqual([
      { url: `http://stunner-auth.${NS}.svc.cluster.local:8088`, namespace: NS, gateway: 'udp-gateway' },
      {
        url: 'http://ice.us.internal:8088',
        namespace: NS,
        gateway: 'udp-gateway',
        keyFile: 'ice-api-key/key',
      },
    ]);
    // the other cluster's service requires the API key, which only the primary's step mounts
    const usAuth = find(us, 'Deployment', 'stunner-auth').spec.template.spec;
    expect(usAuth.containers[0].args.join(' ')).toContain('--api-key-file');
    expect(usAuth.volumes.find((v: Manifest) => v.secret)?.secret.secretName).toBe('cloudretro-ice-api-key');
    const euPod = find(eu, 'Deployment', 'coordinator-deployment').spec.template.spec;
    const keyVolume = euPod.volumes.find((v: Manifest) => v.secret?.secretName === 'cloudretro-ice-api-key');
    expect(keyVolume).toBeDefined();
    expect(step.volumeMounts.find((m: Manifest) => m.name === keyVolume.name)).toMatchObject({
      mountPath: expect.stringMatching(/\/ice-api-key$/),
      readOnly: true,
    });
    expect(euPod.containers[0].volumeMounts.some((m: Manifest) => m.name === keyVolume.name)).toBe(false);
    // this cluster's own service needs no key (its NetworkPolicy names its callers)
    const euAuth = find(eu, 'Deployment', 'stunner-auth').spec.template.spec;
    expect(euAuth.containers[0].args.join(' ')).not.toContain('--api-key-file');
  });

  it('a secondary needs the primary coordinatorAddress, and its iceAuthUrl in ICE auth service mode', () => {
    const p = chart();
    const primary = new CloudRetroDemo(p, 'demo');
    const s = chart();
    new CloudRetroDemo(s, 'demo', { primary });
    const errors = synthErrors(s).join('\n');
    expect(errors).toMatch(/the primary has no coordinatorAddress/);
    expect(errors).toMatch(/iceAuthUrl is required/);
  });
});

describe('the committed layout', () => {
  it('has CloudRetro primary in eu-west and secondary in us-east', () => {
    expect(CLUSTERS.map((c) => c.name)).toEqual(['eu-west', 'us-east']);
    const dist = join(import.meta.dirname, '..', '..', '..', 'dist');
    const eu = load(join(dist, 'eu-west', 'cloudretro.k8s.yaml'));
    const us = load(join(dist, 'us-east', 'cloudretro.k8s.yaml'));
    find(eu, 'Deployment', 'coordinator-deployment');
    expect(us.filter((o) => o.metadata.name === 'coordinator-deployment')).toEqual([]);
    for (const o of [...eu, ...us]) validateManifest(o);
  });
});
