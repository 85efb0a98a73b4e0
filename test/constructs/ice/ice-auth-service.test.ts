import { App, Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  GatewayRuntime,
  IceAuthService,
  StunnerGateway,
  TurnAuth,
  Warnings,
} from '../../../constructs/index.js';
import { parseAuthArgs } from '../../../runtime/ice/cli.js';

type Obj = { kind: string; metadata: { name: string; namespace?: string }; [k: string]: any };

function setup(opts: { authNamespace?: string; watch?: boolean } = {}) {
  const app = Testing.app();
  const chart = new Chart(app, 'media', { namespace: 'stunner' });
  const udp = new StunnerGateway(chart, 'udp-gateway', {
    auth: TurnAuth.inlineEphemeral('a-strong-shared-secret-0123456789'),
    listeners: [{ name: 'udp-listener', protocol: 'TURN-UDP', port: 3478 }],
  });
  const tls = new StunnerGateway(chart, 'tls-gateway', {
    auth: TurnAuth.inline('alice', 'a-strong-password-0123456789'),
    listeners: [{ name: 'tls-listener', protocol: 'TURN-TLS', port: 443, tlsSecret: 'turn-cert' }],
  });
  const auth = new IceAuthService(chart, 'auth', {
    gateways: [udp],
    ...(opts.authNamespace ? { namespace: opts.authNamespace } : {}),
    ...(opts.watch === false ? { watchServices: false } : {}),
  });
  auth.addGateway(tls);
  return { app, chart, auth, udp, tls };
}

/** One ephemeral gateway and an auth service with `props`, in chart `media` (namespace stunner). */
function withGateway(props: ConstructorParameters<typeof IceAuthService>[2]) {
  const chart = new Chart(Testing.app(), 'media', { namespace: 'stunner' });
  const gw = new StunnerGateway(chart, 'udp-gateway', {
    auth: TurnAuth.inlineEphemeral('a-strong-shared-secret-0123456789'),
    listeners: [{ name: 'udp-listener' }],
  });
  const auth = new IceAuthService(chart, 'auth', { gateways: [gw], ...props });
  return { chart, auth };
}

function objects(chart: Chart): Obj[] {
  return Testing.synth(chart) as Obj[];
}

/** The runtime ConfigMap the gateways mount. */
const gatewayRuntime = (objs: Obj[]) =>
  find(objs, 'Deployment', 'udp-gateway').spec.template.spec.volumes.find((v: any) => v.name === 'runtime')
    .configMap.name;

const find = (objs: Obj[], kind: string, name = 'stunner-auth') =>
  objs.find((o) => o.kind === kind && o.metadata.name === name)!;

describe('IceAuthService', () => {
  it('renders a Deployment, Service, ServiceAccount, Role, RoleBinding and NetworkPolicy', () => {
    const { chart, auth } = setup();
    const objs = objects(chart);
    for (const kind of ['Deployment', 'Service', 'ServiceAccount', 'Role', 'RoleBinding', 'NetworkPolicy']) {
      expect(find(objs, kind), kind).toBeDefined();
      expect(find(objs, kind).metadata.namespace).toBe('stunner');
    }
    expect(find(objs, 'Service').spec).toMatchObject({
      type: 'ClusterIP',
      ports: [{ name: 'http', port: 8088, targetPort: 'http', protocol: 'TCP' }],
    });
    expect(auth.url).toBe('http://stunner-auth.stunner.svc.cluster.local:8088');
  });

  it('may read only the served gateways Services, nothing else', () => {
    const { chart } = setup();
    const role = find(objects(chart), 'Role');
    expect(role.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['services'],
        resourceNames: ['tls-gateway', 'udp-gateway'],
        // What the watcher calls (issue 22 D: no unused verbs).
        verbs: ['list', 'watch'],
      },
    ]);
    const binding = find(objects(chart), 'RoleBinding');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'stunner-auth', namespace: 'stunner' },
    ]);
  });

  it('mounts each gateway config and only the auth keys of its credentials Secret, never TLS keys', () => {
    const { chart } = setup();
    const objs = objects(chart);
    const pod = find(objs, 'Deployment').spec.template.spec;
    const vol = (n: string) => pod.volumes.find((v: any) => v.name === n);
    expect(vol('config').projected.sources).toEqual([
      {
        configMap: {
          name: 'udp-gateway-config',
          items: [{ key: 'stunnerd.conf', path: 'udp-gateway/stunnerd.conf' }],
        },
      },
      {
        configMap: {
          name: 'tls-gateway-config',
          items: [{ key: 'stunnerd.conf', path: 'tls-gateway/stunnerd.conf' }],
        },
      },
    ]);
    expect(vol('secrets').projected.sources).toEqual([
      { secret: { name: 'udp-gateway-auth', items: [{ key: 'secret', path: 'udp-gateway/auth/secret' }] } },
      {
        secret: {
          name: 'tls-gateway-auth',
          items: [
            { key: 'username', path: 'tls-gateway/auth/username' },
            { key: 'password', path: 'tls-gateway/auth/password' },
          ],
        },
      },
    ]);
    expect(JSON.stringify(pod.volumes)).not.toContain('turn-cert');
    expect(vol('runtime').configMap.name).toBe(gatewayRuntime(objs));
    // The gateway pod's runtime digest: one source for both pods.
    expect(find(objs, 'Deployment').spec.template.metadata.annotations).toEqual(
      find(objs, 'Deployment', 'udp-gateway').spec.template.metadata.annotations,
    );
    const c = pod.containers[0];
    expect(c.command).toEqual(['node', 'runtime/bootstrap.mjs']);
    expect(c.args).toEqual([
      '--run',
      'run',
      '--inject',
      'config/udp-gateway/stunnerd.conf=secrets/udp-gateway',
      '--inject',
      'config/tls-gateway/stunnerd.conf=secrets/tls-gateway',
      '--',
      'auth',
      '-c',
      'config/udp-gateway/stunnerd.conf',
      '-c',
      'config/tls-gateway/stunnerd.conf',
      '--port',
      '8088',
      '--log',
      'all:INFO',
      '--watch-services',
    ]);
  });

  it('is hardened like the gateway', () => {
    const { chart } = setup();
    const pod = find(objects(chart), 'Deployment').spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.containers[0].readinessProbe.httpGet.path).toBe('/ready');
    expect(pod.containers[0].resources.limits).toBeDefined();
  });

  it('without Service watching: no Role, no API token, no egress', () => {
    const { chart } = setup({ watch: false });
    const objs = objects(chart);
    expect(objs.find((o) => o.kind === 'Role' && o.metadata.name === 'stunner-auth')).toBeUndefined();
    const pod = find(objs, 'Deployment').spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers[0].args).not.toContain('--watch-services');
    // no egress rules with Egress in policyTypes: nothing goes out (an explicit [] would drift)
    expect(find(objs, 'NetworkPolicy').spec.egress).toBeUndefined();
    expect(find(objs, 'NetworkPolicy').spec.policyTypes).toContain('Egress');
  });

  it('lets only the given callers ask for credentials', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'media', { namespace: 'stunner' });
    const gw = new StunnerGateway(chart, 'udp-gateway', {
      auth: TurnAuth.inlineEphemeral('a-strong-shared-secret-0123456789'),
      listeners: [{ name: 'udp-listener' }],
    });
    const auth = new IceAuthService(chart, 'auth', {
      gateways: [gw],
      allowFrom: [{ podSelector: { matchLabels: { app: 'app-server' } } }],
    });
    // Callers created after the service (they need its url) are named afterwards.
    auth.allowClients({ podSelector: { matchLabels: { app: 'page' } } });
    const np = find(objects(chart), 'NetworkPolicy');
    expect(np.spec.ingress).toEqual([
      {
        from: [
          { podSelector: { matchLabels: { app: 'app-server' } } },
          { podSelector: { matchLabels: { app: 'page' } } },
        ],
        ports: [{ protocol: 'TCP', port: 8088 }],
      },
    ]);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(Warnings.collect(chart)).toEqual([]);
  });

  it('admits no caller by default: nobody can mint credentials until the chart names its callers', () => {
    const { chart } = setup();
    const np = find(objects(chart), 'NetworkPolicy');
    // No ingress rule: only node traffic (the kubelet's probes), which a NetworkPolicy always admits.
    expect(np.spec.ingress).toBeUndefined();
    expect(np.spec.policyTypes).toContain('Ingress');
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(Warnings.collect(chart)).toEqual([]);
  });

  it('with an API key and no caller named, any source may ask (the key decides), without a warning', () => {
    const { chart } = withGateway({ apiKeySecret: 'ice-api-key' });
    expect(find(objects(chart), 'NetworkPolicy').spec.ingress).toEqual([
      { ports: [{ protocol: 'TCP', port: 8088 }] },
    ]);
    expect(Warnings.collect(chart)).toEqual([]);
  });

  it('any source without a key only when opted in, with a synth warning', () => {
    const { chart } = withGateway({ allowAnySource: true });
    expect(find(objects(chart), 'NetworkPolicy').spec.ingress).toEqual([
      { ports: [{ protocol: 'TCP', port: 8088 }] },
    ]);
    expect(Warnings.collect(chart)).toEqual([
      '[media/auth] allowAnySource: any pod or address that reaches Service stunner/stunner-auth can mint TURN credentials; name the callers (allowFrom, allowClients()) or require an API key (apiKeySecret)',
    ]);
    const keyed = withGateway({ allowAnySource: true, apiKeySecret: 'ice-api-key' });
    expect(Warnings.collect(keyed.chart)).toEqual([]);
    const both = withGateway({ allowAnySource: true, allowFrom: [{ podSelector: {} }] });
    expect(() => objects(both.chart)).toThrow(/allowAnySource admits every source/);
  });

  it('caps the credential lifetime and the connections per IP with flags the runtime reads', () => {
    const runtimeArgs = (props: ConstructorParameters<typeof IceAuthService>[2]) => {
      const args: string[] = find(objects(withGateway(props).chart), 'Deployment').spec.template.spec
        .containers[0].args;
      return { args, parsed: parseAuthArgs(args.slice(args.indexOf('auth') + 1)) };
    };
    const dflt = runtimeArgs({});
    expect(dflt.args).not.toContain('--max-ttl');
    expect(dflt.args).not.toContain('--max-connections-per-ip');
    // The runtime's defaults are the construct's: one day, 64 connections.
    expect(dflt.parsed).toMatchObject({ maxTtl: 86400, maxConnectionsPerIp: 64 });
    const set = runtimeArgs({ maxTtl: 3600, maxConnectionsPerIp: 16 });
    expect(set.args.join(' ')).toContain('--max-ttl 3600 --max-connections-per-ip 16');
    expect(set.parsed).toMatchObject({ maxTtl: 3600, maxConnectionsPerIp: 16 });
    for (const [props, msg] of [
      [{ maxTtl: 0 }, /maxTtl 0 is not a whole number of seconds from 1 to 31536000/],
      [{ maxTtl: 365 * 86400 + 1 }, /maxTtl 31536001/],
      [{ maxTtl: 1.5 }, /maxTtl 1.5/],
      [{ maxConnectionsPerIp: 0 }, /maxConnectionsPerIp 0 is not a whole number from 1 to 1024/],
      [{ maxConnectionsPerIp: 2000 }, /maxConnectionsPerIp 2000/],
    ] as const)
      expect(() => objects(withGateway(props).chart), JSON.stringify(props)).toThrow(msg);
  });

  it('refuses gateways of another namespace, and no gateways, with reasons', () => {
    const { chart } = setup({ authNamespace: 'other' });
    expect(() => objects(chart)).toThrow(
      /gateway "stunner\/udp-gateway" is in another namespace than the auth service \("other"\)/,
    );
    const app = new App();
    const lonely = new Chart(app, 'lonely');
    new IceAuthService(lonely, 'auth');
    expect(() => Testing.synth(lonely)).toThrow(/serves no gateway; pass gateways or call addGateway\(\)/);
  });

  it('uses the gateways image runtime, and refuses gateways with different runtimes', () => {
    const chart = new Chart(Testing.app(), 'media', { namespace: 'stunner' });
    const auth = TurnAuth.inlineEphemeral('a-strong-shared-secret-0123456789');
    const a = new StunnerGateway(chart, 'a', {
      auth,
      runtime: GatewayRuntime.image('registry.example.org/stunnerd:1'),
      listeners: [{ name: 'udp' }],
    });
    new IceAuthService(chart, 'auth', { gateways: [a] });
    const pod = find(objects(chart), 'Deployment').spec.template.spec;
    expect(pod.containers[0].image).toBe('registry.example.org/stunnerd:1');
    expect(pod.volumes.map((v: any) => v.name)).toEqual(['config', 'secrets', 'run', 'tmp']);
    const b = new StunnerGateway(chart, 'b', { auth, listeners: [{ name: 'udp' }] });
    new IceAuthService(chart, 'auth2', { name: 'auth-two', gateways: [a, b] });
    expect(() => objects(chart)).toThrow(
      /gateway "b" runs a different runtime \(bundle docker\.io\/library\/node:[^)]+\) than "a" \(image registry\.example\.org\/stunnerd:1\)/,
    );
  });
});

describe('IceAuthService parity options (issue 16)', () => {
  function withOptions(props: ConstructorParameters<typeof IceAuthService>[2]) {
    const app = Testing.app();
    const chart = new Chart(app, 'media', { namespace: 'stunner' });
    const gw = new StunnerGateway(chart, 'udp-gateway', {
      auth: TurnAuth.inlineEphemeral('a-strong-shared-secret-0123456789'),
      logFormat: 'json',
      listeners: [{ name: 'udp-listener' }],
    });
    new IceAuthService(chart, 'auth', { gateways: [gw], ...props });
    return chart;
  }
  const container = (objs: Obj[], name = 'stunner-auth') =>
    find(objs, 'Deployment', name).spec.template.spec.containers[0];

  it('passes the log format, the public address and the API key file to the service', () => {
    const objs = objects(
      withOptions({ logFormat: 'json', publicAddress: 'turn.example.com', apiKeySecret: 'ice-api-key' }),
    );
    const c = container(objs);
    expect(c.args.slice(-4)).toEqual(['--api-key-file', 'api-key/key', '--log-format', 'json']);
    expect(c.env).toEqual([{ name: 'STUNNER_PUBLIC_ADDR', value: 'turn.example.com' }]);
    expect(c.volumeMounts).toContainEqual({
      name: 'api-key',
      mountPath: '/stunnerd/api-key',
      readOnly: true,
    });
    const pod = find(objs, 'Deployment').spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: 'api-key',
      secret: { secretName: 'ice-api-key', items: [{ key: 'key', path: 'key' }], defaultMode: 0o440 },
    });
    // The gateway's own runtime logs JSON too.
    expect(container(objs, 'udp-gateway').args.slice(-2)).toEqual(['--log-format', 'json']);
  });

  it('renders nothing of these by default', () => {
    const objs = objects(withOptions({}));
    const c = container(objs);
    expect(c.args).not.toContain('--log-format');
    expect(c.args).not.toContain('--api-key-file');
    expect(c.env).toBeUndefined();
    // No node reader: neither the service's (nodeAddressDiscovery) nor the gateway's (a static
    // address or a load balancer needs none, issue 22 D).
    expect(objs.filter((o) => o.kind === 'ClusterRole')).toHaveLength(0);
  });

  it('may read Nodes for the NodePort fallback, through its own ClusterRole', () => {
    const objs = objects(withOptions({ nodeAddressDiscovery: true }));
    const role = find(objs, 'ClusterRole', 'stunner:stunner:stunner-auth:node-reader');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] }]);
    expect(role.metadata.namespace).toBeUndefined();
    // the runtime reads Nodes only when told to, so a service without the ClusterRole never gets a 403
    const args = (o: ReturnType<typeof objects>) =>
      find(o, 'Deployment', 'stunner-auth').spec.template.spec.containers[0].args as string[];
    expect(args(objs)).toContain('--node-address-fallback');
    expect(args(objects(withOptions({})))).not.toContain('--node-address-fallback');
    const binding = find(objs, 'ClusterRoleBinding', 'stunner:stunner:stunner-auth:node-reader');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'stunner-auth', namespace: 'stunner' },
    ]);
  });

  it('says where and why an option is wrong', () => {
    expect(() => objects(withOptions({ apiKeySecret: 'Bad_Name', publicAddress: 'not an address' }))).toThrow(
      /apiKeySecret "Bad_Name" must be lowercase[\s\S]*publicAddress "not an address" is neither an IP address nor a DNS name/,
    );
    expect(() => objects(withOptions({ nodeAddressDiscovery: true, watchServices: false }))).toThrow(
      /nodeAddressDiscovery needs watchServices/,
    );
  });
});
