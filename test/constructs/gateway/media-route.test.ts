import * as kplus from 'cdk8s-plus-27';
import { describe, expect, it } from 'vitest';
import {
  MediaRoute,
  StunnerGateway,
  type StunnerGatewayProps,
  TurnAuth,
  Warnings,
} from '../../../constructs/index.js';
import { validateConfig } from '../../../contract/config/index.js';
import { dataplaneConfig, find, newChart, synth, synthErrors, validateManifest } from '../helpers.js';

const BASE: StunnerGatewayProps = { auth: TurnAuth.inline('media-user', 'Vq3-ajT9-pzL2-xw8') };

function setup() {
  const chart = newChart('stunner');
  const gw = new StunnerGateway(chart, 'udp-gateway', {
    ...BASE,
    listeners: [{ name: 'udp-listener' }, { name: 'udp-alt', port: 3479 }],
  });
  return { chart, gw };
}

describe('MediaRoute', () => {
  it('matches the snapshot of the clusters, listeners, NetworkPolicy and RBAC it renders', () => {
    const { chart, gw } = setup();
    const media = new kplus.Service(chart, 'media-server', {
      metadata: { name: 'media-server', namespace: 'media' },
      selector: kplus.Pods.select(chart, 'media-pods', { labels: { app: 'media' } }),
      ports: [{ port: 9000, protocol: kplus.Protocol.UDP }],
    });
    const route = new MediaRoute(chart, 'media-plane', { parents: [gw] });
    route.addService(media, { port: 10000, endPort: 20000 });
    route.addCidrs(['10.10.0.0/16', '192.0.2.7']);
    const objects = synth(chart);
    for (const o of objects) validateManifest(o);
    expect({
      clusters: dataplaneConfig(objects, 'udp-gateway').clusters,
      listeners: dataplaneConfig(objects, 'udp-gateway').listeners.map((l: { routes: string[] }) => l.routes),
      networkPolicy: find(objects, 'NetworkPolicy', 'udp-gateway').spec,
      roles: objects
        .filter((o) => o.kind === 'Role')
        .map((r) => ({ ns: r.metadata.namespace, rules: r.rules })),
    }).toMatchSnapshot();
  });

  it('renders Service backends as STRICT_DNS on the cluster DNS name, with the port range', () => {
    const chart = newChart('stunner');
    const gw = new StunnerGateway(chart, 'gw', {
      ...BASE,
      clusterDomain: 'k8s.example',
      listeners: [{ name: 'udp' }],
    });
    new MediaRoute(chart, 'media', { parents: [gw], backends: [{ service: { name: 'sfu' }, port: 4000 }] });
    const config = dataplaneConfig(synth(chart), 'gw');
    expect(config.clusters).toEqual([
      {
        name: 'stunner/media',
        type: 'STRICT_DNS',
        protocol: 'UDP',
        endpoints: ['sfu.stunner.svc.k8s.example:<4000-4000>'],
      },
    ]);
    expect(config.listeners[0].routes).toEqual(['stunner/media']);
  });

  it('renders static CIDRs as a STATIC cluster, like StaticService', () => {
    const chart = newChart('stunner');
    const gw = new StunnerGateway(chart, 'gw', { ...BASE, listeners: [{ name: 'udp' }] });
    new MediaRoute(chart, 'static', {
      parents: [gw],
      backends: [{ cidrs: ['10.0.0.0/8', 'fd00::/64'], port: 5000, endPort: 5100 }],
    });
    const objects = synth(chart);
    expect(dataplaneConfig(objects, 'gw').clusters).toEqual([
      {
        name: 'stunner/static',
        type: 'STATIC',
        protocol: 'UDP',
        endpoints: ['10.0.0.0/8:<5000-5100>', 'fd00::/64:<5000-5100>'],
      },
    ]);
    const egress = find(objects, 'NetworkPolicy', 'gw').spec.egress;
    expect(egress).toContainEqual({
      to: [{ ipBlock: { cidr: '10.0.0.0/8' } }],
      ports: [{ protocol: 'UDP', port: 5000, endPort: 5100 }],
    });
    // No Service backends: the watcher needs EndpointSlices nowhere.
    const roles = objects.filter((o) => o.kind === 'Role');
    expect(roles.flatMap((r) => r.rules.map((x: { resources: string[] }) => x.resources[0]))).toEqual([
      'services',
    ]);
  });

  it('loops a headless route back to every parent gateway, on their relay port ranges only (issue 15)', () => {
    const chart = newChart('stunner');
    const udp = new StunnerGateway(chart, 'udp-gateway', { ...BASE, listeners: [{ name: 'udp' }] });
    const tcp = new StunnerGateway(chart, 'tcp-gateway', {
      ...BASE,
      listeners: [{ name: 'tcp', protocol: 'TURN-TCP', minRelayPort: 40000, maxRelayPort: 40999 }],
    });
    new MediaRoute(chart, 'stunner-headless', { parents: [udp, tcp], headless: true });
    const objects = synth(chart);
    for (const [gw, own] of [
      ['udp-gateway', '32768-60999'],
      ['tcp-gateway', '40000-40999'],
    ] as const) {
      const config = dataplaneConfig(objects, gw);
      expect(config.clusters).toEqual([
        {
          name: 'stunner/stunner-headless',
          type: 'STRICT_DNS',
          protocol: 'UDP',
          endpoints: [
            `$STUNNER_ADDR:<${own}>`,
            'udp-gateway.stunner.svc.cluster.local:<32768-60999>',
            'tcp-gateway.stunner.svc.cluster.local:<40000-40999>',
          ],
        },
      ]);
      // The runtime allocates in the range the route admits: a listener without one gets the
      // fallback (Linux's default ephemeral range) rendered explicitly.
      const [lo, hi] = own.split('-').map(Number);
      expect(config.listeners[0]).toMatchObject({ min_relay_port: lo, max_relay_port: hi });
      // The runtime accepts it on IPv4 and IPv6 pods.
      for (const addr of ['10.1.2.3', 'fd00:10:244::7']) {
        const r = validateConfig(
          { ...config, auth: { ...config.auth, credentials: { username: 'u', password: 'p' } } },
          { env: { STUNNER_ADDR: addr } },
        );
        expect(r.ok ? [] : r.problems, addr).toEqual([]);
      }
    }
    // Without a headless route, a listener without a range still lets the kernel pick.
    const plain = newChart('stunner');
    new StunnerGateway(plain, 'udp-gateway', { ...BASE, listeners: [{ name: 'udp' }] });
    expect(dataplaneConfig(synth(plain), 'udp-gateway').listeners[0]!.min_relay_port).toBeUndefined();
    const np = find(objects, 'NetworkPolicy', 'udp-gateway').spec;
    const toTcpPods = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'stunner' } },
      podSelector: {
        matchLabels: {
          'app.kubernetes.io/name': 'stunner-gateway',
          'app.kubernetes.io/instance': 'tcp-gateway',
        },
      },
    };
    // Out to the other gateway's relay ports; in from it to this one's relay ports.
    expect(np.egress).toContainEqual({
      to: [toTcpPods],
      ports: [{ protocol: 'UDP', port: 40000, endPort: 40999 }],
    });
    expect(np.ingress).toContainEqual({
      from: [toTcpPods],
      ports: [{ protocol: 'UDP', port: 32768, endPort: 60999 }],
    });
  });

  it('warns at synth about CIDRs in a dangerous class, and says which are never relayed (issue 15)', () => {
    const { chart } = setup();
    const route = new MediaRoute(chart, 'risky', {
      backends: [
        {
          cidrs: [
            '127.0.0.1',
            '169.254.169.254/32',
            'fd00:ec2::254',
            '::ffff:127.0.0.1',
            '2002:7f00:1::/48',
            '224.0.0.1',
            '255.255.255.255',
            '::',
            '10.0.0.0/8',
            '0.0.0.0/0',
            '::/0',
            '126.0.0.0/7',
          ],
        },
      ],
    });
    route.attachTo(StunnerGateway.fromGatewayName(chart, 'ref', 'stunner', 'udp-gateway'));
    const messages = Warnings.of(route).messages;
    const about = (c: string) => messages.filter((m) => m.startsWith(`CIDR ${c} `));
    for (const c of [
      '127.0.0.1',
      '169.254.169.254/32',
      'fd00:ec2::254',
      '::ffff:127.0.0.1',
      '2002:7f00:1::/48',
    ])
      expect(about(c)[0], c).toMatch(/explicit route lets clients relay to it/);
    for (const c of ['224.0.0.1', '255.255.255.255', '::']) expect(about(c)[0], c).toMatch(/never relays/);
    expect(messages).toHaveLength(8);
    // Warnings do not fail synth.
    expect(synthErrors(chart)).toEqual([]);
  });

  it('attaches to one listener only when asked, by construct or by name', () => {
    const { chart } = setup();
    new MediaRoute(chart, 'only-alt', { backends: [{ cidrs: ['10.0.0.1'] }] }).attachTo(
      StunnerGateway.fromGatewayName(chart, 'ref', 'stunner', 'udp-gateway'),
      { listener: 'udp-alt' },
    );
    const config = dataplaneConfig(synth(chart), 'udp-gateway');
    expect(config.listeners.map((l: { routes: string[] }) => l.routes)).toEqual([[], ['stunner/only-alt']]);
  });

  it('grants EndpointSlice reads and the backend Service by name in each backend namespace, and nothing cluster-wide', () => {
    const { chart, gw } = setup();
    const route = new MediaRoute(chart, 'r', { parents: [gw] });
    route.addService({ name: 'a', namespace: 'team-a' });
    route.addService({ name: 'b', namespace: 'team-b' });
    const objects = synth(chart);
    const roles = objects.filter((o) => o.kind === 'Role');
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['stunner', 'team-a', 'team-b']);
    // the watcher also reads each backend Service (its ClusterIP is a peer): by name only
    for (const r of roles.filter((x) => x.metadata.namespace !== 'stunner'))
      expect(r.rules).toEqual([
        {
          apiGroups: [''],
          resources: ['services'],
          resourceNames: [r.metadata.namespace === 'team-a' ? 'a' : 'b'],
          verbs: ['list', 'watch'],
        },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ]);
    const own = roles.find((r) => r.metadata.namespace === 'stunner');
    expect(own.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['services'],
        resourceNames: ['udp-gateway'],
        verbs: ['list', 'watch'],
      },
    ]);
    const binding = find(objects, 'RoleBinding', undefined, 'team-a');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'udp-gateway', namespace: 'stunner' }]);
    // Nothing cluster-wide: a LoadBalancer gateway does not read Nodes (issue 22).
    expect(objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toEqual([]);
  });

  it('renders a route defined before its gateway (found by name at synth)', () => {
    const chart = newChart('stunner');
    new MediaRoute(chart, 'early', {
      parents: [{ gateway: StunnerGateway.fromGatewayName(chart, 'ref', 'stunner', 'late') }],
      backends: [{ cidrs: ['10.1.0.0/16'] }],
    });
    new StunnerGateway(chart, 'late', { ...BASE, listeners: [{ name: 'udp' }] });
    expect(dataplaneConfig(synth(chart), 'late').clusters[0].name).toBe('stunner/early');
  });
});

describe('MediaRoute validation', () => {
  it('rejects a route to an unknown gateway or listener, naming the path', () => {
    const { chart, gw } = setup();
    new MediaRoute(chart, 'lost', {
      parents: [{ gateway: StunnerGateway.fromGatewayName(chart, 'ref', 'stunner', 'nope') }],
      backends: [{ cidrs: ['10.0.0.0/8'] }],
    });
    new MediaRoute(chart, 'bad-listener', {
      parents: [{ gateway: gw, listener: 'tcp' }],
      backends: [{ cidrs: ['10.0.0.0/8'] }],
    });
    const errors = synthErrors(chart);
    expect(errors).toContain(
      '[test/lost] parents[0]: no StunnerGateway "stunner/nope" in this app (known: stunner/udp-gateway)',
    );
    expect(errors).toContain(
      '[test/bad-listener] parents[0]: gateway "stunner/udp-gateway" has no listener "tcp" (listeners: udp-listener, udp-alt)',
    );
  });

  it('rejects bad backends', () => {
    const { chart, gw } = setup();
    new MediaRoute(chart, 'r', {
      parents: [gw],
      backends: [
        { cidrs: ['10.0.0.0/33', 'media.example'] },
        { service: { name: 'x' }, endPort: 5 },
        { cidrs: [], port: 70000 },
      ],
    });
    new MediaRoute(chart, 'empty', { parents: [gw] });
    new MediaRoute(chart, 'orphan', { backends: [{ cidrs: ['10.0.0.1'] }] });
    const errors = synthErrors(chart);
    expect(errors).toEqual(
      expect.arrayContaining([
        '[test/r] backends[0].cidrs[0]: "/33" is not a valid IPv4 prefix length',
        '[test/r] backends[0].cidrs[1]: "media.example" is not an IP address or CIDR prefix',
        '[test/r] backends[1]: endPort needs port (the low end of the range)',
        '[test/r] backends[2]: port 70000 is not a valid port',
        '[test/r] backends[2]: no CIDRs given',
        '[test/empty] the route has no backends; add a Service or CIDRs, or make it headless',
        '[test/orphan] the route attaches to no gateway; pass parents or call attachTo()',
      ]),
    );
  });

  it('reports duplicate route names through the dataplane config validator', () => {
    const { chart, gw } = setup();
    new MediaRoute(chart, 'one', { name: 'same', parents: [gw], backends: [{ cidrs: ['10.0.0.1'] }] });
    new MediaRoute(chart, 'two', { name: 'same', parents: [gw], backends: [{ cidrs: ['10.0.0.2'] }] });
    expect(synthErrors(chart).join('\n')).toMatch(
      /\[test\/udp-gateway\] dataplane config clusters\[1\]\.name: duplicate cluster name "stunner\/same"/,
    );
  });
});
