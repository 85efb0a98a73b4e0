import { App, Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { IMAGE_CMD, IMAGE_ENTRYPOINT } from '../../../build/image/config.js';
import {
  GatewayRuntime,
  MediaRoute,
  StunnerGateway,
  type StunnerGatewayProps,
  TurnAuth,
} from '../../../constructs/index.js';
import { validateConfig } from '../../../contract/config/index.js';
import { unsupportedProblems } from '../../../contract/support.js';
import {
  dataplaneConfig,
  find,
  maskRuntime,
  newChart,
  runtimeChart,
  synth,
  synthErrors,
  synthWithRuntime,
  validateManifest,
} from '../helpers.js';

const STRONG = { username: 'media-user', password: 'Vq3-ajT9-pzL2-xw8' };
const AUTH = TurnAuth.inline(STRONG.username, STRONG.password);

function gateway(props: StunnerGatewayProps = {}, namespace = 'stunner') {
  const chart = newChart(namespace);
  const gw = new StunnerGateway(chart, 'udp-gateway', {
    auth: AUTH,
    listeners: [{ name: 'udp-listener' }],
    ...props,
  });
  return { chart, gw };
}

describe('StunnerGateway', () => {
  it('matches the snapshot (runtime masked)', () => {
    const { chart, gw } = gateway({ createNamespace: true });
    new MediaRoute(chart, 'media', {
      parents: [gw],
      backends: [{ service: { name: 'media', namespace: 'media' } }],
    });
    expect(maskRuntime(synthWithRuntime(chart))).toMatchSnapshot();
  });

  it('synthesizes every object kind the issue lists, each schema-valid', () => {
    const { chart } = gateway({ createNamespace: true, autoscaling: { maxReplicas: 4 } });
    const objects = synthWithRuntime(chart);
    const kinds = objects.map((o) => o.kind).sort();
    expect(kinds).toEqual(
      [
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Namespace',
        'NetworkPolicy', // the namespace's default deny
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Role',
        'RoleBinding',
        'Secret',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    for (const o of objects) validateManifest(o);
  });

  it('renders the dataplane config with the operator naming and pod-address listeners', () => {
    const { chart } = gateway({ realm: 'example.org', logLevel: 'all:DEBUG', userQuota: 5, relayThreads: 2 });
    const config = dataplaneConfig(synth(chart), 'udp-gateway');
    expect(config.admin.name).toBe('stunner/udp-gateway');
    expect(config.admin.loglevel).toBe('all:DEBUG');
    expect(config.admin.user_quota).toBe(5);
    expect(config.admin.threads).toBe(2);
    expect(config.admin.healthcheck_endpoint).toBe('http://:8086');
    expect(config.admin.metrics_endpoint).toBe('http://:8080/metrics');
    expect(config.auth).toEqual({ type: 'static', realm: 'example.org', credentials: {} });
    expect(config.listeners[0]).toMatchObject({
      name: 'stunner/udp-gateway/udp-listener',
      protocol: 'TURN-UDP',
      address: '$STUNNER_ADDR',
      port: 3478,
    });
  });

  it('renders the per-client limits (issue 15) from props, with defaults, and refuses bad values', () => {
    const defaults = dataplaneConfig(synth(gateway().chart), 'udp-gateway').admin;
    expect(defaults).toMatchObject({
      client_quota: 200,
      auth_failures_per_ip: 0,
      max_connections_per_ip: 100,
      new_connections_per_ip: 20,
    });
    const set = dataplaneConfig(
      synth(
        gateway({ clientQuota: 50, authFailuresPerIp: 30, maxConnectionsPerIp: 10, newConnectionsPerIp: 5 })
          .chart,
      ),
      'udp-gateway',
    ).admin;
    expect(set).toMatchObject({
      client_quota: 50,
      auth_failures_per_ip: 30,
      max_connections_per_ip: 10,
      new_connections_per_ip: 5,
    });
    for (const bad of [
      { clientQuota: -1 },
      { authFailuresPerIp: 1.5 },
      { maxConnectionsPerIp: -3 },
      { newConnectionsPerIp: 2_000_000 },
    ]) {
      expect(synthErrors(gateway(bad).chart).length, JSON.stringify(bad)).toBeGreaterThan(0);
    }
  });

  it('renders a config the runtime accepts on IPv4 and IPv6 pods, and without a pod address', () => {
    const config = dataplaneConfig(synth(gateway().chart), 'udp-gateway');
    config.auth.credentials = { ...STRONG };
    for (const [addr, bound] of [
      ['10.1.2.3', '10.1.2.3'],
      ['fd00:10:244::7', 'fd00:10:244::7'],
      [undefined, '0.0.0.0'],
    ] as const) {
      const r = validateConfig(config, { env: addr === undefined ? {} : { STUNNER_ADDR: addr } });
      expect(r.ok ? [] : r.problems).toEqual([]);
      if (r.ok) expect(r.config.listeners[0]!.address).toBe(bound);
    }
  });

  it('keeps inline credentials out of the ConfigMap and in a Secret the pod mounts', () => {
    const { chart } = gateway();
    const objects = synth(chart);
    const cm = find(objects, 'ConfigMap', 'udp-gateway-config');
    expect(JSON.stringify(cm)).not.toContain(STRONG.password);
    const secret = find(objects, 'Secret', 'udp-gateway-auth');
    expect(secret.stringData).toEqual(STRONG);
    const pod = find(objects, 'Deployment', 'udp-gateway').spec.template.spec;
    const secrets = pod.volumes.find((v: { name: string }) => v.name === 'secrets');
    expect(secrets.projected.sources[0].secret).toEqual({
      name: 'udp-gateway-auth',
      items: [
        { key: 'username', path: 'auth/username' },
        { key: 'password', path: 'auth/password' },
      ],
    });
    expect(pod.containers[0].args).toEqual([
      '--run',
      'run',
      '--inject',
      'config/stunnerd.conf=secrets',
      '--',
      '-c',
      'config/stunnerd.conf',
    ]);
  });

  it('references an existing Secret instead of creating one', () => {
    const { chart } = gateway({ auth: TurnAuth.ephemeral('turn-secret') });
    const objects = synth(chart);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const pod = find(objects, 'Deployment', 'udp-gateway').spec.template.spec;
    const secrets = pod.volumes.find((v: { name: string }) => v.name === 'secrets');
    expect(secrets.projected.sources[0].secret).toEqual({
      name: 'turn-secret',
      items: [{ key: 'secret', path: 'auth/secret' }],
    });
    expect(dataplaneConfig(objects, 'udp-gateway').auth.type).toBe('ephemeral');
  });

  it('hardens the pod and wires probes, env and draining', () => {
    const { chart } = gateway();
    const d = find(synth(chart), 'Deployment', 'udp-gateway');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/live', port: 'health', scheme: 'HTTP' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'health', scheme: 'HTTP' });
    expect(c.ports).toContainEqual({ name: 'health', containerPort: 8086, protocol: 'TCP' });
    expect(c.env).toContainEqual({
      name: 'STUNNER_ADDR',
      valueFrom: { fieldRef: { fieldPath: 'status.podIP' } },
    });
    expect(c.env).toContainEqual({ name: 'STUNNER_NAME', value: 'udp-gateway' });
    expect(pod.terminationGracePeriodSeconds).toBe(3600);
    expect(c.lifecycle.preStop.exec.command[0]).toBe('node');
    expect(c.image).toMatch(/^docker\.io\/library\/node:\d+\.\d+\.\d+-/);
    expect(c.resources).toEqual({
      requests: { cpu: '500m', memory: '128Mi' },
      limits: { cpu: '2', memory: '512Mi' },
    });
    expect(pod.securityContext.sysctls).toBeUndefined();
  });

  it('allows low ports for the non-root runtime only when a listener needs one', () => {
    const { chart } = gateway({ listeners: [{ name: 'tcp-listener', protocol: 'TURN-TCP', port: 443 }] });
    const pod = find(synth(chart), 'Deployment', 'udp-gateway').spec.template.spec;
    expect(pod.securityContext.sysctls).toEqual([
      { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' },
    ]);
  });

  it('maps Service props to the Service', () => {
    const { chart } = gateway({
      serviceType: 'NodePort',
      serviceAnnotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' },
      externalTrafficPolicy: 'Local',
      sessionAffinity: 'None',
      listeners: [
        { name: 'udp-listener', port: 3478, targetPort: 13478, nodePort: 30478 },
        { name: 'tcp-listener', protocol: 'TURN-TCP', port: 3478 },
      ],
    });
    const objects = synth(chart);
    const svc = find(objects, 'Service', 'udp-gateway');
    expect(svc.metadata.annotations).toEqual({
      'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
      'argocd.argoproj.io/sync-wave': '0', // gateways and backends
    });
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.externalTrafficPolicy).toBe('Local');
    expect(svc.spec.sessionAffinity).toBe('None');
    expect(svc.spec.ports).toEqual([
      { name: 'udp-listener', protocol: 'UDP', port: 3478, targetPort: 13478, nodePort: 30478 },
      { name: 'tcp-listener', protocol: 'TCP', port: 3478, targetPort: 3478 },
    ]);
    const listener = dataplaneConfig(objects, 'udp-gateway').listeners[0];
    expect(listener.port).toBe(13478);
    expect(listener.public_port).toBe(30478);
    // NodePort services may fall back to the node's address: the watcher may list and watch Nodes.
    const role = find(objects, 'ClusterRole');
    expect(role.metadata.namespace).toBeUndefined();
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] }]);
    expect(find(objects, 'ClusterRoleBinding').subjects).toEqual([
      { kind: 'ServiceAccount', name: 'udp-gateway', namespace: 'stunner' },
    ]);
    expect(find(objects, 'Deployment', 'udp-gateway').spec.template.spec.containers[0].env).toContainEqual({
      name: 'STUNNER_NODENAME',
      valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
    });
  });

  it('reads Nodes only where the NodePort fallback can matter (issue 22)', () => {
    const nodeRead = (props: Parameters<typeof gateway>[0]) =>
      synth(gateway(props).chart).filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')
        .length;
    expect(nodeRead({})).toBe(0); // a LoadBalancer: its own address comes first
    expect(nodeRead({ serviceType: 'NodePort', publicAddress: '203.0.113.7' })).toBe(0); // static wins
    expect(nodeRead({ serviceType: 'NodePort' })).toBe(2);
    expect(nodeRead({ nodeAddressDiscovery: true })).toBe(2); // bare metal without a load balancer
  });

  it('admits metrics from the scrapers only and health from nobody but the kubelet; egresses to the API server only (issue 22)', () => {
    const policy = (props: Parameters<typeof gateway>[0]) =>
      find(synth(gateway(props).chart), 'NetworkPolicy', 'udp-gateway').spec;
    const spec = policy({});
    expect(spec.ingress).toEqual([
      { ports: [{ protocol: 'UDP', port: 3478 }] },
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ]);
    expect(spec.egress[1]).toEqual({
      to: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'].map((cidr) => ({
        ipBlock: { cidr },
      })),
      ports: [
        { protocol: 'TCP', port: 443 },
        { protocol: 'TCP', port: 6443 },
      ],
    });
    const narrowed = policy({
      kubernetesApi: { cidrs: ['10.1.0.5'], ports: [6443] },
      metricsFrom: [{ podSelector: { matchLabels: { app: 'prometheus' } } }],
      healthFrom: [{ podSelector: { matchLabels: { app: 'prober' } } }],
    });
    expect(narrowed.egress[1]).toEqual({
      to: [{ ipBlock: { cidr: '10.1.0.5/32' } }],
      ports: [{ protocol: 'TCP', port: 6443 }],
    });
    expect(narrowed.ingress.slice(1)).toEqual([
      {
        from: [{ podSelector: { matchLabels: { app: 'prober' } } }],
        ports: [{ protocol: 'TCP', port: 8086 }],
      },
      {
        from: [{ podSelector: { matchLabels: { app: 'prometheus' } } }],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ]);
    // A cloud load balancer's checks come from its own addresses: an exposed health port is open.
    const exposed = policy({
      exposeHealthCheckPort: true,
      mixedProtocolLoadBalancer: true,
    });
    expect(exposed.ingress).toContainEqual({ ports: [{ protocol: 'TCP', port: 8086 }] });
    const apiErrors = synthErrors(
      gateway({ kubernetesApi: { cidrs: ['10.1.0.500'], ports: [] } }).chart,
    ).join('\n');
    expect(apiErrors).toMatch(/kubernetesApi.cidrs: "10.1.0.500" is not an IP address/);
    expect(apiErrors).toMatch(/kubernetesApi.ports is empty/);
  });

  it('egresses only to DNS, the API server and the routed peers on their ports: nothing wider', () => {
    const { chart, gw } = gateway();
    new MediaRoute(chart, 'media', {
      parents: [gw],
      backends: [
        { service: { name: 'sfu', namespace: 'media', selector: { app: 'sfu' } }, port: 5000 },
        { cidrs: ['198.51.100.0/24'], port: 10000, endPort: 10100 },
      ],
    });
    const spec = find(synth(chart), 'NetworkPolicy', 'udp-gateway').spec;
    // Egress is a policy type, so whatever no rule below admits is denied.
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(spec.egress).toEqual([
      // the cluster DNS
      {
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      // the watcher's API server (DEFAULT_KUBERNETES_API)
      {
        to: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'].map((cidr) => ({
          ipBlock: { cidr },
        })),
        ports: [
          { protocol: 'TCP', port: 443 },
          { protocol: 'TCP', port: 6443 },
        ],
      },
      // the routed peers, each on its own ports only
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'media' } },
            podSelector: { matchLabels: { app: 'sfu' } },
          },
        ],
        ports: [{ protocol: 'UDP', port: 5000 }],
      },
      {
        to: [{ ipBlock: { cidr: '198.51.100.0/24' } }],
        ports: [{ protocol: 'UDP', port: 10000, endPort: 10100 }],
      },
    ]);
    // No rule admits every port, and none every address.
    for (const rule of spec.egress) {
      expect(rule.ports?.length).toBeGreaterThan(0);
      for (const peer of rule.to ?? []) expect(peer.ipBlock?.cidr ?? '').not.toMatch(/^(0\.0\.0\.0|::)\/0$/);
    }
    // Without routes: DNS and the API server only.
    expect(find(synth(gateway().chart), 'NetworkPolicy', 'udp-gateway').spec.egress).toEqual(
      spec.egress.slice(0, 2),
    );
  });

  it('labels the Namespace it renders for Pod Security Admission and denies by default there (issue 22)', () => {
    const objects = synth(gateway({ createNamespace: true }).chart);
    expect(find(objects, 'Namespace').metadata.labels).toEqual({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
    expect(find(objects, 'NetworkPolicy', 'default-deny').spec).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      // no ingress rules: policyTypes denies all (an explicit [] would drift, see NetworkPolicyObject)
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    });
    const baseline = synth(
      gateway({ createNamespace: true, podSecurity: 'baseline', defaultDeny: false }).chart,
    );
    expect(find(baseline, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe(
      'baseline',
    );
    expect(baseline.filter((o) => o.metadata.name === 'default-deny')).toEqual([]);
  });

  it('defaults to a LoadBalancer with ClientIP affinity, and writes a known public address', () => {
    const { chart } = gateway({ publicAddress: 'turn.example.org' });
    const objects = synth(chart);
    const svc = find(objects, 'Service', 'udp-gateway');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.sessionAffinity).toBe('ClientIP');
    expect(svc.spec.externalTrafficPolicy).toBeUndefined();
    expect(dataplaneConfig(objects, 'udp-gateway').listeners[0].public_address).toBe('turn.example.org');
  });

  it('turns the node-address fallback off for ClusterIP: no Node access, no STUNNER_NODENAME', () => {
    const objects = synth(gateway({ serviceType: 'ClusterIP' }).chart);
    expect(objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toEqual([]);
    const env = find(objects, 'Deployment', 'udp-gateway').spec.template.spec.containers[0].env;
    expect(env.map((e: { name: string }) => e.name)).toEqual([
      'STUNNER_ADDR',
      'STUNNER_NAME',
      'STUNNER_NAMESPACE',
    ]);
  });

  it('allows a mixed-protocol LoadBalancer only when asked, and exposes the health port on request', () => {
    const listeners = [{ name: 'udp-listener' }, { name: 'tcp-listener', protocol: 'TURN-TCP' as const }];
    expect(synthErrors(gateway({ listeners }).chart).join('\n')).toMatch(
      /mix UDP and TCP.*mixedProtocolLoadBalancer/,
    );
    expect(synthErrors(gateway({ exposeHealthCheckPort: true }).chart).join('\n')).toMatch(/mix UDP and TCP/);
    const { chart } = gateway({ listeners, mixedProtocolLoadBalancer: true, exposeHealthCheckPort: true });
    const ports = find(synth(chart), 'Service', 'udp-gateway').spec.ports;
    expect(ports.map((p: { name: string; protocol: string }) => `${p.name}/${p.protocol}`)).toEqual([
      'udp-listener/UDP',
      'tcp-listener/TCP',
      'health/TCP',
    ]);
  });

  it('passes scheduling props through and omits replicas under an HPA', () => {
    const { chart } = gateway({
      autoscaling: { minReplicas: 2, maxReplicas: 6, cpuUtilization: 60 },
      tolerations: [{ key: 'media', operator: 'Exists', effect: 'NoSchedule' }],
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' },
      ],
      affinity: { nodeAffinity: {} },
      terminationGracePeriodSeconds: 600,
      resources: { limits: { cpu: '4' } },
    });
    const objects = synth(chart);
    const d = find(objects, 'Deployment', 'udp-gateway');
    expect(d.spec.replicas).toBeUndefined();
    expect(d.spec.template.spec.tolerations).toEqual([
      { key: 'media', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    expect(d.spec.template.spec.topologySpreadConstraints[0].topologyKey).toBe('topology.kubernetes.io/zone');
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBe(600);
    expect(d.spec.template.spec.containers[0].resources).toEqual({ limits: { cpu: '4' } });
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'udp-gateway');
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 6 });
    expect(hpa.spec.metrics[0].resource.target.averageUtilization).toBe(60);
    expect(hpa.spec.behavior.scaleDown.policies).toEqual([{ type: 'Pods', value: 1, periodSeconds: 300 }]);
  });

  it('mounts TLS Secrets per listener for the bootstrap to inject', () => {
    const { chart } = gateway({
      mixedProtocolLoadBalancer: true,
      listeners: [{ name: 'tls-listener', protocol: 'TURN-TLS', port: 443, tlsSecret: 'turn-cert' }],
    });
    const objects = synth(chart);
    const pod = find(objects, 'Deployment', 'udp-gateway').spec.template.spec;
    const sources = pod.volumes.find((v: { name: string }) => v.name === 'secrets').projected.sources;
    expect(sources[1].secret).toEqual({
      name: 'turn-cert',
      items: [
        { key: 'tls.crt', path: 'tls/tls-listener/tls.crt' },
        { key: 'tls.key', path: 'tls/tls-listener/tls.key' },
      ],
    });
    const listener = dataplaneConfig(objects, 'udp-gateway').listeners[0];
    expect(listener.cert).toBeUndefined();
    expect(
      find(objects, 'ConfigMap', 'udp-gateway-config').metadata.annotations[
        'stunner.l7mp.io/injected-at-start'
      ],
    ).toMatch(/listener tls-listener from Secret turn-cert/);
  });

  it('annotates for Argo CD: sync waves, server-side apply for the runtime', () => {
    const { chart } = gateway({ createNamespace: true });
    const objects = synth(chart);
    expect(find(objects, 'Namespace').metadata).toMatchObject({
      name: 'stunner',
      annotations: { 'argocd.argoproj.io/sync-wave': '-2' },
    });
    expect(
      find(objects, 'ConfigMap', 'udp-gateway-config').metadata.annotations['argocd.argoproj.io/sync-wave'],
    ).toBe('-1');
    const runtime = synth(runtimeChart(chart)!);
    expect(find(runtime, 'ConfigMap', 'stunnerd-runtime').metadata.annotations).toMatchObject({
      'argocd.argoproj.io/sync-options': 'ServerSideApply=true',
    });
  });

  it('uses a registry image and no runtime ConfigMap in image mode', () => {
    const { chart } = gateway({ runtime: GatewayRuntime.image('registry.example.org/stunnerd:1.0.0') });
    const objects = synth(chart);
    expect(objects.filter((o) => o.metadata.name === 'stunnerd-runtime')).toEqual([]);
    expect(runtimeChart(chart)).toBeUndefined();
    const pod = find(objects, 'Deployment', 'udp-gateway').spec.template.spec;
    expect(pod.containers[0].image).toBe('registry.example.org/stunnerd:1.0.0');
    expect(pod.containers[0].command).toEqual([
      'node',
      '--min-semi-space-size=4',
      '--max-semi-space-size=4',
      'runtime/bootstrap.mjs',
    ]);
    // the image's own entrypoint and arguments (npm run image) run the same, for `docker run`
    expect(IMAGE_ENTRYPOINT).toEqual(pod.containers[0].command);
    expect(IMAGE_CMD).toEqual(pod.containers[0].args);
    expect(pod.volumes.map((v: { name: string }) => v.name)).not.toContain('runtime');
    expect(synthErrors(gateway({ runtime: GatewayRuntime.image('') }).chart).join('\n')).toMatch(
      /the runtime has no image; GatewayRuntime\.image\(\) takes the reference `npm run image` prints/,
    );
  });

  it('takes the reference or the build record of npm run image; a malformed digest is an error', () => {
    const ref = `registry.example.org/stunnerd:1.0.0@sha256:${'0a'.repeat(32)}`;
    const fromRecord = gateway({ runtime: GatewayRuntime.image({ reference: ref }) });
    expect(
      find(synth(fromRecord.chart), 'Deployment', 'udp-gateway').spec.template.spec.containers[0].image,
    ).toBe(ref);
    expect(synthErrors(fromRecord.chart)).toEqual([]);
    for (const bad of [
      'registry.example.org/stunnerd:1.0.0@sha256:abc',
      `r.example/s@sha512:${'0'.repeat(128)}`,
    ])
      expect(synthErrors(gateway({ runtime: GatewayRuntime.image(bad) }).chart)).toEqual([
        `[test/udp-gateway] the runtime image "${bad}" has a malformed digest "${bad.slice(bad.lastIndexOf('@') + 1)}": a digest is sha256: and 64 lowercase hex digits, as \`npm run image\` prints it`,
      ]);
  });
});

describe('StunnerGateway validation', () => {
  const errorsOf = (props: StunnerGatewayProps) => synthErrors(gateway(props).chart);

  it('names the construct path and the reason', () => {
    const errors = errorsOf({ listeners: [] });
    expect(errors).toEqual([
      '[test/udp-gateway] the gateway has no listeners; pass listeners or call addListener()',
    ]);
  });

  it('rejects duplicate listener names and ports', () => {
    const errors = errorsOf({ listeners: [{ name: 'a' }, { name: 'a', port: 3479 }, { name: 'b' }] });
    expect(errors).toContain(
      '[test/udp-gateway] listener "a" (listeners[1]): duplicate listener name (also listeners[0])',
    );
    expect(errors).toContain(
      '[test/udp-gateway] listener "b" (listeners[2]): duplicate port 3478/UDP (also listeners[0] "a")',
    );
  });

  it('rejects a TLS listener without a certificate', () => {
    expect(
      errorsOf({ listeners: [{ name: 'tls', protocol: 'TURN-TLS' }], mixedProtocolLoadBalancer: true }),
    ).toEqual([
      '[test/udp-gateway] listener "tls" (listeners[0]): a TURN-TLS listener needs a certificate; set tlsSecret to a kubernetes.io/tls Secret',
    ]);
  });

  it('rejects default and weak credentials unless allowed', () => {
    expect(errorsOf({ auth: TurnAuth.inline('user-1', 'pass-1') })).toEqual([
      '[test/udp-gateway] the password is a well-known default; choose a strong one, or set allowWeakCredentials: true for a demo',
    ]);
    expect(errorsOf({ auth: TurnAuth.inline('media-user', 'short-pw') })[0]).toMatch(
      /has 8 characters; use at least 12/,
    );
    expect(errorsOf({ auth: TurnAuth.inline('media-user', 'media-user') })[0]).toMatch(/equals the username/);
    expect(errorsOf({ auth: TurnAuth.inline('', 'Vq3-ajT9-pzL2-xw8') })).toEqual([
      '[test/udp-gateway] username must not be empty',
    ]);
    expect(errorsOf({ auth: TurnAuth.inlineEphemeral('secret') })[0]).toMatch(
      /shared secret is a well-known default/,
    );
    expect(errorsOf({ auth: TurnAuth.inline('user-1', 'pass-1'), allowWeakCredentials: true })).toEqual([]);
  });

  it('rejects a gateway without credentials, and a bad Secret name', () => {
    expect(errorsOf({ auth: undefined })).toEqual([
      '[test/udp-gateway] the gateway has no credentials; set auth: TurnAuth.fromSecret(name) (an existing Secret with username and password), TurnAuth.ephemeral(name) (an existing Secret with the shared secret under `secret`), or TurnAuth.inline(username, password) for a demo',
    ]);
    expect(errorsOf({ auth: TurnAuth.fromSecret('Turn_Auth') })).toEqual([
      `[test/udp-gateway] auth Secret name "Turn_Auth" is not a valid object name (lowercase letters, digits, '-' and '.')`,
    ]);
  });

  it('rejects names Kubernetes would reject', () => {
    expect(errorsOf({ name: 'UDP_Gateway' })[0]).toMatch(/gateway name "UDP_Gateway" must be lowercase/);
    expect(errorsOf({ listeners: [{ name: 'udp listener' }] })[0]).toMatch(/listener "udp listener".*name/);
  });

  it('fails synth when the runtime ConfigMap would pass the limit', () => {
    const errors = errorsOf({ maxRuntimeConfigMapBytes: 1000 }).join('\n');
    expect(errors).toMatch(
      /runtime ConfigMap "stunnerd-runtime" would be \d+ bytes .* over the limit of 1000 bytes .*runtime: GatewayRuntime\.image\(\.\.\.\)/,
    );
  });

  it('rejects two gateways with one name in one namespace', () => {
    const { chart } = gateway();
    new StunnerGateway(chart, 'other', {
      auth: AUTH,
      name: 'udp-gateway',
      listeners: [{ name: 'x' }],
    });
    expect(synthErrors(chart).join('\n')).toMatch(/another gateway is also named "stunner\/udp-gateway"/);
  });
});

describe('StunnerGateway monitoring', () => {
  it('adds a PodMonitor for the metrics port and the dashboard ConfigMap on request', () => {
    const { chart } = gateway({ podMonitor: true, grafanaDashboard: true });
    const objects = synth(chart);
    for (const o of objects) validateManifest(o);
    const pm = find(objects, 'PodMonitor', 'udp-gateway', 'stunner');
    expect(pm.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'stunner-gateway',
      'app.kubernetes.io/instance': 'udp-gateway',
    });
    const metricsPort = find(
      objects,
      'Deployment',
      'udp-gateway',
    ).spec.template.spec.containers[0].ports.find((p: { name?: string }) => p.name === 'metrics');
    expect(pm.spec.podMetricsEndpoints[0].port).toBe(metricsPort.name);
    expect(
      find(objects, 'ConfigMap', 'udp-gateway-grafana-dashboard').data['stunner-dashboard.json'],
    ).toContain('stunner_allocations_active');
    expect(synthErrors(gateway({ podMonitor: true, metrics: false }).chart)).toEqual([
      '[test/udp-gateway] podMonitor needs metrics: true',
    ]);
  });

  it('rejects externalTrafficPolicy on a ClusterIP Service', () => {
    expect(synthErrors(gateway({ serviceType: 'ClusterIP', externalTrafficPolicy: 'Local' }).chart)).toEqual([
      '[test/udp-gateway] externalTrafficPolicy needs serviceType NodePort or LoadBalancer',
    ]);
  });
});

describe('StunnerGateway TLS with cert-manager', () => {
  it('issues the listener certificate with a cert-manager Certificate and mounts its Secret', () => {
    const { chart } = gateway({
      mixedProtocolLoadBalancer: true,
      listeners: [
        { name: 'udp-listener' },
        {
          name: 'tls-listener',
          protocol: 'TURN-TLS',
          port: 443,
          certificate: { issuer: 'letsencrypt', dnsNames: ['turn.example.org'] },
        },
      ],
    });
    const objects = synth(chart);
    for (const o of objects) validateManifest(o);
    const cert = find(objects, 'Certificate', 'udp-gateway-tls-listener-tls', 'stunner');
    expect(cert.apiVersion).toBe('cert-manager.io/v1');
    expect(cert.spec).toMatchObject({
      secretName: 'udp-gateway-tls-listener-tls',
      dnsNames: ['turn.example.org'],
      issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
    });
    const pod = find(objects, 'Deployment', 'udp-gateway').spec.template.spec;
    const sources = pod.volumes.find((v: { name: string }) => v.name === 'secrets').projected.sources;
    expect(sources.map((s: { secret: { name: string } }) => s.secret.name)).toEqual([
      'udp-gateway-auth',
      'udp-gateway-tls-listener-tls',
    ]);
  });

  it('needs DNS names for the certificate', () => {
    const { chart } = gateway({
      mixedProtocolLoadBalancer: true,
      listeners: [{ name: 'tls', protocol: 'TURN-TLS', certificate: { issuer: 'ca', dnsNames: [] } }],
    });
    expect(synthErrors(chart)).toEqual([
      '[test/udp-gateway] listener "tls" (listeners[0]): certificate needs at least one DNS name',
    ]);
  });
});

describe('runtime ConfigMap', () => {
  it('is shared by the gateways of a namespace in a chart, from the runtime chart', () => {
    const { chart } = gateway();
    new StunnerGateway(chart, 'tcp-gateway', {
      auth: AUTH,
      listeners: [{ name: 'tcp', protocol: 'TURN-TCP' }],
    });
    const objects = synthWithRuntime(chart);
    const runtimes = objects.filter((o) => o.kind === 'ConfigMap' && o.binaryData);
    expect(runtimes.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'stunner/stunnerd-runtime',
    ]);
    // in its own chart, not the gateways'
    expect(synth(chart).filter((o) => o.metadata.name === 'stunnerd-runtime')).toEqual([]);
    expect(synth(runtimeChart(chart)!).map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
      'ConfigMap stunnerd-runtime',
    ]);
    for (const name of ['udp-gateway', 'tcp-gateway']) {
      const pod = find(objects, 'Deployment', name).spec.template.spec;
      expect(pod.volumes.find((v: { name: string }) => v.name === 'runtime').configMap.name).toBe(
        'stunnerd-runtime',
      );
    }
  });

  it('is shared by the gateways of a namespace in two charts: one runtime chart renders it', () => {
    const { chart } = gateway();
    const twin = new Chart(App.of(chart), 'second', { namespace: 'stunner' });
    new StunnerGateway(twin, 'tcp-gateway', {
      auth: AUTH,
      listeners: [{ name: 'tcp', protocol: 'TURN-TCP' }],
    });
    expect(synthErrors(chart)).toEqual([]);
    const runtimes = App.of(chart)
      .charts.flatMap((c) => synth(c))
      .filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'stunnerd-runtime');
    expect(runtimes.map((o) => o.metadata.namespace)).toEqual(['stunner']);
  });
});

describe('runtime support', () => {
  it('fails synth on exactly what the runtime would refuse at start (TURN-DTLS while unsupported)', () => {
    const { chart } = gateway({
      listeners: [{ name: 'dtls', protocol: 'TURN-DTLS', port: 3479, tlsSecret: 'cert' }],
    });
    const pem = Buffer.from('-----BEGIN CERTIFICATE-----\n').toString('base64');
    const parsed = validateConfig({
      version: 'v1',
      auth: { credentials: STRONG },
      listeners: [{ name: 'dtls', protocol: 'TURN-DTLS', port: 3479, cert: pem, key: pem }],
    });
    if (!parsed.ok) throw new Error('test config invalid');
    const refused = unsupportedProblems(parsed.config).map(
      (p) => `[test/udp-gateway] dataplane config ${p.path}: ${p.message}`,
    );
    expect(synthErrors(chart)).toEqual(refused);
  });
});
