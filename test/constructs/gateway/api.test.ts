/**
 * The cdk8s-style API: factories for auth and runtime, explicit route binding (also by name,
 * before or after the gateway exists), pure validation, per-app registries instead of tree
 * scans, and structural types that accept any cdk8s-plus and kubernetes-models objects.
 */
import { ApiObject, type App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type * as k8s from 'cdk8s-plus-27/lib/imports/k8s.js';
import { Construct } from 'constructs';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { IToleration } from 'kubernetes-models/v1/Toleration';
import type { ITopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';
import { describe, expect, it } from 'vitest';
import {
  GatewayRuntime,
  IceAuthService,
  type IServiceConstruct,
  type K8sAffinity,
  type K8sNetworkPolicyPeer,
  type K8sResourceRequirements,
  type K8sToleration,
  type K8sTopologySpreadConstraint,
  MediaRoute,
  StunnerGateway,
  TurnAuth,
} from '../../../constructs/index.js';
import { NODE_IMAGE } from '../../../contract/pod-layout.js';
import { dataplaneConfig, find, newChart, runtimeChart, synth, synthErrors } from '../helpers.js';

const AUTH = TurnAuth.inline('media-user', 'Vq3-ajT9-pzL2-xw8');

/** A gateway named by namespace and name (the chart's namespace, `stunner`, unless given). */
let refs = 0;
function ref(scope: Construct, name: string, namespace = 'stunner') {
  return StunnerGateway.fromGatewayName(scope, `ref-${refs++}`, namespace, name);
}

/** Every construct path and every ApiObject's JSON: the tree validation must leave unchanged. */
function treeOf(app: App) {
  return app.node.findAll().map((c) => ({
    path: c.node.path,
    json: c instanceof ApiObject ? JSON.stringify(c.toJson()) : undefined,
  }));
}

/** What `cdk8s synth` runs: every construct's validations. */
function validateAll(app: App): string[] {
  return app.node.findAll().flatMap((c) => c.node.validate());
}

describe('TurnAuth', () => {
  it('names the Secret and keys of each kind', () => {
    expect(TurnAuth.fromSecret('creds')).toMatchObject({
      type: 'static',
      secretName: 'creds',
      secretKeys: ['username', 'password'],
      inlineCredentials: undefined,
    });
    expect(TurnAuth.ephemeral('shared')).toMatchObject({
      type: 'ephemeral',
      secretName: 'shared',
      secretKeys: ['secret'],
    });
    expect(TurnAuth.inline('u', 'p')).toMatchObject({
      type: 'static',
      secretName: undefined,
      inlineCredentials: { username: 'u', password: 'p' },
    });
    expect(TurnAuth.inlineEphemeral('s')).toMatchObject({
      type: 'ephemeral',
      secretKeys: ['secret'],
      inlineCredentials: { secret: 's' },
    });
  });

  it('renders a Secret only for inline credentials, and mounts the Secret it names', () => {
    const chart = newChart();
    new StunnerGateway(chart, 'inline', { auth: AUTH, listeners: [{ name: 'udp' }] });
    new StunnerGateway(chart, 'external', {
      auth: TurnAuth.ephemeral('turn-shared'),
      listeners: [{ name: 'udp' }],
    });
    const objects = synth(chart);
    expect(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual(['inline-auth']);
    const secretsOf = (name: string) =>
      find(objects, 'Deployment', name).spec.template.spec.volumes.find(
        (v: { name: string }) => v.name === 'secrets',
      ).projected.sources[0].secret;
    expect(secretsOf('inline').name).toBe('inline-auth');
    expect(secretsOf('external')).toEqual({
      name: 'turn-shared',
      items: [{ key: 'secret', path: 'auth/secret' }],
    });
    expect(dataplaneConfig(objects, 'external').auth.type).toBe('ephemeral');
  });
});

describe('GatewayRuntime', () => {
  it('bundle(): the pinned Node.js image (or a mirror) with the runtime ConfigMap and its digest', () => {
    expect(GatewayRuntime.bundle()).toMatchObject({ kind: 'bundle', image: NODE_IMAGE });
    const chart = newChart();
    new StunnerGateway(chart, 'gw', {
      auth: AUTH,
      runtime: GatewayRuntime.bundle({ image: 'mirror.example.org/node:22.12.0-bookworm-slim' }),
      listeners: [{ name: 'udp' }],
    });
    const objects = synth(chart);
    const template = find(objects, 'Deployment', 'gw').spec.template;
    expect(template.spec.containers[0].image).toBe('mirror.example.org/node:22.12.0-bookworm-slim');
    expect(template.metadata.annotations['stunner.l7mp.io/runtime-sha256']).toMatch(/^[0-9a-f]{64}$/);
    const runtime = synth(runtimeChart(chart)!);
    expect(find(runtime, 'ConfigMap', 'stunnerd-runtime').binaryData['stunnerd.mjs.gz']).toBeDefined();
  });

  it('image(): no runtime ConfigMap, no digest annotation', () => {
    expect(GatewayRuntime.image('r/x:1')).toMatchObject({ kind: 'image', image: 'r/x:1' });
    expect(String(GatewayRuntime.image('r/x:1'))).toBe('image r/x:1');
    const chart = newChart();
    new StunnerGateway(chart, 'gw', {
      auth: AUTH,
      runtime: GatewayRuntime.image('r/x:1'),
      listeners: [{ name: 'udp' }],
    });
    const objects = synth(chart);
    expect(objects.filter((o) => o.metadata.name === 'stunnerd-runtime')).toEqual([]);
    expect(runtimeChart(chart)).toBeUndefined();
    expect(find(objects, 'Deployment', 'gw').spec.template.metadata.annotations).toBeUndefined();
  });
});

describe('explicit route binding', () => {
  it('registers a route with its gateways when it is created or attached', () => {
    const chart = newChart();
    const a = new StunnerGateway(chart, 'a', { auth: AUTH, listeners: [{ name: 'udp' }] });
    const b = new StunnerGateway(chart, 'b', { auth: AUTH, listeners: [{ name: 'udp' }] });
    const route = new MediaRoute(chart, 'r', { parents: [a], backends: [{ cidrs: ['10.0.0.1'] }] });
    expect(route._planFor(a)?.clusters.map((c) => c.name)).toEqual(['stunner/r']);
    expect(route._planFor(b)).toBeUndefined();
    route.attachTo(b);
    expect(route._planFor(b)?.clusters.map((c) => c.name)).toEqual(['stunner/r']);
    const objects = synth(chart);
    for (const gw of ['a', 'b']) expect(dataplaneConfig(objects, gw).clusters[0].name).toBe('stunner/r');
  });

  it('binds a gateway named by fromGatewayName when it exists already, or when it is created later', () => {
    const chart = newChart();
    const before = new MediaRoute(chart, 'before', { backends: [{ cidrs: ['10.0.0.1'] }] });
    before.attachTo(ref(chart, 'gw'));
    const other = new MediaRoute(chart, 'other-ns', {
      parents: [{ gateway: ref(chart, 'gw', 'edge') }],
      backends: [{ cidrs: ['10.0.0.2'] }],
    });
    const gw = new StunnerGateway(chart, 'gw', { auth: AUTH, listeners: [{ name: 'udp' }] });
    expect(before._planFor(gw)).toBeDefined();
    expect(other._planFor(gw)).toBeUndefined(); // that one waits for edge/gw
    const after = new MediaRoute(chart, 'after', {
      parents: [{ gateway: ref(chart, 'gw') }],
      backends: [{ cidrs: ['10.0.0.3'] }],
    });
    expect(after._planFor(gw)).toBeDefined();
    const edge = new StunnerGateway(chart, 'edge-gw', {
      name: 'gw',
      namespace: 'edge',
      auth: AUTH,
      listeners: [{ name: 'udp' }],
    });
    expect(other._planFor(edge)).toBeDefined();
    const objects = synth(chart);
    expect(
      dataplaneConfig(
        objects.filter((o) => o.metadata.namespace === 'stunner'),
        'gw',
      ).clusters.map((c: { name: string }) => c.name),
    ).toEqual(['stunner/after', 'stunner/before']);
  });

  it('binds by name across the charts of one app, and names the known gateways when a name is unknown', () => {
    const app = Testing.app();
    const gateways = new Chart(app, 'gateways', { namespace: 'stunner' });
    const routes = new Chart(app, 'routes', { namespace: 'stunner' });
    new MediaRoute(routes, 'typo', {
      parents: [{ gateway: ref(routes, 'udp-gw') }],
      backends: [{ cidrs: ['10.0.0.1'] }],
    });
    new MediaRoute(routes, 'good', {
      parents: [{ gateway: ref(routes, 'udp-gateway') }],
      backends: [{ cidrs: ['10.0.0.1'] }],
    });
    new StunnerGateway(gateways, 'udp-gateway', { auth: AUTH, listeners: [{ name: 'udp' }] });
    expect(synthErrors(routes)).toEqual([
      '[routes/typo] parents[0]: no StunnerGateway "stunner/udp-gw" in this app (known: stunner/udp-gateway)',
    ]);
  });

  it('reports a name two gateways share as ambiguous', () => {
    const chart = newChart();
    new StunnerGateway(chart, 'one', { name: 'gw', auth: AUTH, listeners: [{ name: 'udp' }] });
    new StunnerGateway(chart, 'two', { name: 'gw', auth: AUTH, listeners: [{ name: 'udp' }] });
    new MediaRoute(chart, 'r', {
      parents: [{ gateway: ref(chart, 'gw') }],
      backends: [{ cidrs: ['10.0.0.1'] }],
    });
    expect(synthErrors(chart)).toContain(
      '[test/r] parents[0]: gateway "stunner/gw" is ambiguous: 2 gateways have that name',
    );
  });

  it('does not see the gateways of another app', () => {
    const chart = newChart();
    new StunnerGateway(newChart(), 'gw', { auth: AUTH, listeners: [{ name: 'udp' }] });
    new MediaRoute(chart, 'r', {
      parents: [{ gateway: ref(chart, 'gw') }],
      backends: [{ cidrs: ['10.0.0.1'] }],
    });
    expect(synthErrors(chart)).toEqual(['[test/r] parents[0]: no StunnerGateway "stunner/gw" in this app']);
  });

  it('creates the watcher RBAC when backends are added, before validation', () => {
    const chart = newChart();
    const gw = new StunnerGateway(chart, 'gw', { auth: AUTH, listeners: [{ name: 'udp' }] });
    const route = new MediaRoute(chart, 'r', { parents: [gw] });
    expect(gw.node.tryFindChild('Watcher-media')).toBeUndefined();
    route.addService({ name: 'sfu', namespace: 'media' });
    expect(gw.node.tryFindChild('Watcher-media')).toBeDefined();
    // A route bound later by name grants its namespaces when it binds.
    new MediaRoute(chart, 'late', { backends: [{ service: { name: 'x', namespace: 'late-ns' } }] }).attachTo(
      ref(chart, 'gw2'),
    );
    const gw2 = new StunnerGateway(chart, 'gw2', { auth: AUTH, listeners: [{ name: 'udp' }] });
    expect(gw2.node.tryFindChild('Watcher-late-ns')).toBeDefined();
  });
});

describe('pure validation', () => {
  it('leaves the construct tree and every object unchanged', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test', { namespace: 'stunner' });
    const gw = new StunnerGateway(chart, 'gw', { auth: AUTH, listeners: [{ name: 'udp' }] });
    const route = new MediaRoute(chart, 'r', { parents: [gw, { gateway: ref(chart, 'gw') }] });
    route.addService({ name: 'a', namespace: 'team-a' });
    route.addService({ name: 'b', namespace: 'team-b' });
    new IceAuthService(chart, 'auth', { gateways: [gw] });
    const before = treeOf(app);
    expect(validateAll(app)).toEqual([]);
    expect(treeOf(app)).toEqual(before);
    Testing.synth(chart);
    expect(treeOf(app)).toEqual(before);
  });

  it('leaves the tree unchanged when validation fails, too', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'test', { namespace: 'stunner' });
    new StunnerGateway(chart, 'gw', { listeners: [] });
    new MediaRoute(chart, 'r', { parents: [{ gateway: ref(chart, 'nope') }] }).addService({
      name: 'a',
      namespace: 'x',
    });
    const before = treeOf(app);
    expect(validateAll(app).length).toBeGreaterThan(0);
    expect(treeOf(app)).toEqual(before);
  });
});

describe('runtime ConfigMap ownership (per-app registry)', () => {
  it('one runtime chart per namespace of an app: charts of one namespace share it, not two namespaces or two apps', () => {
    const app = Testing.app();
    const one = new Chart(app, 'one', { namespace: 'stunner' });
    const two = new Chart(app, 'two', { namespace: 'stunner' });
    const three = new Chart(app, 'three', { namespace: 'elsewhere' });
    for (const c of [one, two, three])
      new StunnerGateway(c, `gw-${c.node.id}`, { auth: AUTH, listeners: [{ name: 'udp' }] });
    expect(synthErrors(one)).toEqual([]);
    expect(app.charts.map((c) => c.node.id)).toEqual([
      'one',
      'two',
      'three',
      'stunnerd-runtime-stunner',
      'stunnerd-runtime-elsewhere',
    ]);
    // Another app with the same chart layout has a registry (and runtime chart) of its own.
    const lone = new Chart(Testing.app(), 'one', { namespace: 'stunner' });
    new StunnerGateway(lone, 'gw', { auth: AUTH, listeners: [{ name: 'udp' }] });
    expect(synthErrors(lone)).toEqual([]);
    expect(runtimeChart(lone)).not.toBe(runtimeChart(one));
    expect(synth(runtimeChart(lone)!).map((o) => o.kind)).toEqual(['ConfigMap']);
  });
});

/** A Service construct as another cdk8s-plus version shapes it: name, metadata, and an ApiObject. */
class OtherPlusService extends Construct {
  readonly #api: ApiObject;
  constructor(scope: Construct, id: string, props: { name: string; namespace: string; app: string }) {
    super(scope, id);
    this.#api = new ApiObject(this, 'Resource', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: props.name, namespace: props.namespace },
      spec: { selector: { app: props.app }, ports: [{ port: 9 }] },
    });
  }
  get name(): string {
    return this.#api.name;
  }
  get metadata(): { readonly namespace?: string } {
    return this.#api.metadata;
  }
}

describe('Service backends from any cdk8s-plus', () => {
  it('accepts a structural Service construct and a plain reference with a selector', () => {
    const chart = newChart();
    const gw = new StunnerGateway(chart, 'gw', { auth: AUTH, listeners: [{ name: 'udp' }] });
    const other: IServiceConstruct = new OtherPlusService(chart, 'sfu', {
      name: 'sfu',
      namespace: 'media',
      app: 'sfu',
    });
    const plus27 = new kplus.Service(chart, 'svc27', {
      metadata: { name: 'svc27', namespace: 'media' },
      selector: kplus.Pods.select(chart, 'pods', { labels: { app: 'p27' } }),
      ports: [{ port: 9 }],
    });
    const route = new MediaRoute(chart, 'r', { parents: [gw] });
    route.addService(other);
    route.addService(plus27);
    route.addService({ name: 'plain', namespace: 'media', selector: { app: 'plain' } });
    route.addService({ name: 'bare', namespace: 'media' });
    const objects = synth(chart);
    expect(dataplaneConfig(objects, 'gw').clusters[0].endpoints).toEqual([
      'sfu.media.svc.cluster.local',
      'svc27.media.svc.cluster.local',
      'plain.media.svc.cluster.local',
      'bare.media.svc.cluster.local',
    ]);
    const to = find(objects, 'NetworkPolicy', 'gw')
      .spec.egress.filter((r: { to?: unknown[] }) => r.to?.some((p: any) => p.namespaceSelector))
      .map((r: { to: any[] }) => r.to[0].podSelector?.matchLabels ?? null);
    expect(to).toEqual([{ app: 'sfu' }, { app: 'p27' }, { app: 'plain' }, null]);
  });
});

describe('structural Kubernetes types', () => {
  it('accept kubernetes-models and cdk8s-plus k8s objects (checked by the compiler)', () => {
    const models = {
      resources: { limits: { cpu: '4' } } satisfies IResourceRequirements,
      toleration: { key: 'media', operator: 'Exists', effect: 'NoSchedule' } satisfies IToleration,
      spread: {
        maxSkew: 1,
        topologyKey: 'zone',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { a: 'b' } },
      } satisfies ITopologySpreadConstraint,
      affinity: { nodeAffinity: {} } satisfies IAffinity,
      peer: { podSelector: { matchLabels: { app: 'x' } } } satisfies INetworkPolicyPeer,
    };
    const fromModels: [
      K8sResourceRequirements,
      K8sToleration,
      K8sTopologySpreadConstraint,
      K8sAffinity,
      K8sNetworkPolicyPeer,
    ] = [
      models.resources as IResourceRequirements,
      models.toleration as IToleration,
      models.spread as ITopologySpreadConstraint,
      models.affinity as IAffinity,
      models.peer as INetworkPolicyPeer,
    ];
    const plus: {
      resources: k8s.ResourceRequirements;
      toleration: k8s.Toleration;
      spread: k8s.TopologySpreadConstraint;
      affinity: k8s.Affinity;
      peer: k8s.NetworkPolicyPeer;
    } = {
      resources: { limits: { cpu: { value: '4' } as k8s.Quantity } },
      toleration: { key: 'media', operator: 'Exists' },
      spread: { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway' },
      affinity: { nodeAffinity: {} },
      peer: { podSelector: { matchLabels: { app: 'x' } } },
    };
    const fromPlus: [
      K8sResourceRequirements,
      K8sToleration,
      K8sTopologySpreadConstraint,
      K8sAffinity,
      K8sNetworkPolicyPeer,
    ] = [plus.resources, plus.toleration, plus.spread, plus.affinity, plus.peer];
    expect(fromModels).toHaveLength(5);

    // A cdk8s-plus Quantity renders as its value.
    const chart = newChart();
    new StunnerGateway(chart, 'gw', {
      auth: AUTH,
      listeners: [{ name: 'udp' }],
      resources: fromPlus[0],
      tolerations: [fromPlus[1]],
    });
    const pod = find(synth(chart), 'Deployment', 'gw').spec.template.spec;
    expect(pod.containers[0].resources).toEqual({ limits: { cpu: '4' } });
    expect(pod.tolerations).toEqual([{ key: 'media', operator: 'Exists' }]);
  });
});
