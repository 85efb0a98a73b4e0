/** Synth-time checks of a gateway, each problem with where and why: they read its model only. */
import { Construct, type IConstruct } from 'constructs';
import { dns1035Problem, dns1123Problem, dns1123SubdomainProblem, isPort } from '../../contract/checks.js';
import {
  isTlsProtocol,
  LISTENER_PROTOCOLS,
  type ListenerProtocol,
  listenerServiceProtocol,
} from '../../contract/config/types.js';
import { DEFAULT_PORT } from '../../contract/defaults.js';
import { TLS_KEYS, TLS_SECRET_TYPE } from '../../contract/secret-keys.js';
import type { ServiceType } from '../core/k8s-types.js';
import { kubernetesApiProblems } from '../core/kubernetes-api.js';
import { type ISecretSource, missingSecretKeys, SecretKeys } from '../core/secrets.js';
import { runtimeImageProblem } from '../runtime-bundle/gateway-runtime.js';
import { credentialWeakness } from './credentials.js';
import { buildDataplaneConfig } from './dataplane-config.js';
import type { GatewayListener } from './listener.js';
import type { GatewayModel } from './model.js';
import type { TurnAuth } from './turn-auth.js';

/** What only the construct tree knows: the runtime ConfigMap's problems, a twin's path, the app. */
export interface GatewayContext {
  readonly bundleProblems: readonly string[];
  /** The path of another gateway of the same namespace and name, if any. */
  readonly duplicatePath: string | undefined;
  /** The app's root: a secret source must be rendered in the same app. */
  readonly root: IConstruct;
}

/** Pure: every problem of the gateway `m`, in a stable order. */
export function gatewayProblems(m: GatewayModel, c: GatewayContext): string[] {
  const problems: string[] = [...c.bundleProblems];
  const nameProblem = dns1035Problem(m.name, 63 - '-config'.length);
  if (nameProblem) problems.push(`gateway name ${nameProblem}`);
  const nsProblem = dns1123Problem(m.namespace);
  if (nsProblem) problems.push(`namespace ${nsProblem}`);
  if (c.duplicatePath !== undefined)
    problems.push(`another gateway is also named "${m.namespace}/${m.name}" (${c.duplicatePath})`);
  const imageProblem = runtimeImageProblem(m.runtime);
  if (imageProblem !== undefined) problems.push(imageProblem);
  if (m.podMonitor && m.metricsPort === undefined) problems.push('podMonitor needs metrics: true');
  if (m.networkPolicy !== undefined) problems.push(...kubernetesApiProblems(m.networkPolicy.kubernetesApi));
  if (m.externalTrafficPolicy !== undefined && m.serviceType === 'ClusterIP')
    problems.push('externalTrafficPolicy needs serviceType NodePort or LoadBalancer');
  if (m.autoscaling && m.autoscaling.maxReplicas < m.autoscaling.minReplicas)
    problems.push('autoscaling.maxReplicas is below minReplicas');
  problems.push(...credentialProblems(m.auth, m.allowWeakCredentials));
  problems.push(...secretSourceProblems(m, c.root));
  problems.push(
    ...listenerProblems({
      listeners: m.declaredListeners,
      serviceType: m.serviceType,
      healthPort: m.healthPort,
      metricsPort: m.metricsPort,
      exposeHealthCheckPort: m.exposeHealthCheckPort,
      mixedProtocolLoadBalancer: m.mixedProtocolLoadBalancer,
    }),
  );
  if (problems.length === 0) {
    const built = buildDataplaneConfig(m);
    problems.push(...built.problems.map((x) => `dataplane config ${x.path || '(root)'}: ${x.message}`));
  }
  return problems;
}

/**
 * The SealedSecrets and ExternalSecrets (ISecretSources) the auth and the TLS listeners name:
 * each must produce the keys the pod mounts, in the gateway's namespace, in the same app.
 */
function secretSourceProblems(m: GatewayModel, root: IConstruct): string[] {
  const problems: string[] = [];
  const check = (what: string, source: ISecretSource, keys: readonly string[], fix: string) => {
    const missing = missingSecretKeys(source, keys);
    if (missing) problems.push(`${what}: ${missing}, which the pod mounts; ${fix}`);
    if (source.secretNamespace !== m.namespace)
      problems.push(
        `${what}: Secret ${source.secretNamespace}/${source.secretName} is in another namespace than the gateway ("${m.namespace}"); a pod can mount only its own namespace's Secrets`,
      );
    if (isConstruct(source) && source.node.root !== root)
      problems.push(
        `${what}: ${source.node.path} is rendered by another app (another cluster's directory): render the Secret where the gateway runs`,
      );
  };
  const auth = m.auth;
  const source = auth?.secretSource;
  if (auth !== undefined && source !== undefined) {
    const keys = auth.type === 'static' ? SecretKeys.TURN_STATIC : SecretKeys.TURN_EPHEMERAL;
    check(
      `auth (${auth.factory})`,
      source,
      keys,
      `give it ${keys.join(' and ')} (static credentials need username and password, ephemeral ones the shared secret under "secret")`,
    );
  }
  m.declaredListeners.forEach((l, i) => {
    const at = `listener "${l.name}" (listeners[${i}]) tlsSecret`;
    if (l.tlsSecret === undefined || typeof l.tlsSecret === 'string') return;
    if (l.certificate !== undefined) {
      problems.push(
        `${at}: with a certificate, cert-manager writes the Secret; give tlsSecret as a name, or leave it out`,
      );
      return;
    }
    check(
      at,
      l.tlsSecret,
      SecretKeys.TLS,
      `a TLS Secret needs ${TLS_KEYS.join(' and ')} (type ${TLS_SECRET_TYPE})`,
    );
  });
  return problems;
}

function isConstruct(x: unknown): x is Construct {
  return typeof x === 'object' && x !== null && Construct.isConstruct(x);
}

/** Problems of a gateway's credentials: missing, invalid Secret name, weak inline values. */
export function credentialProblems(auth: TurnAuth | undefined, allowWeakCredentials: boolean): string[] {
  if (auth === undefined)
    return [
      'the gateway has no credentials; set auth: TurnAuth.fromSecret(name) (an existing Secret with username and password), TurnAuth.ephemeral(name) (an existing Secret with the shared secret under `secret`), or TurnAuth.inline(username, password) for a demo',
    ];
  const problems: string[] = [];
  if (auth.secretName !== undefined) {
    const why = dns1123SubdomainProblem(auth.secretName);
    if (why) problems.push(`auth Secret name ${why}`);
    return problems;
  }
  const inline = auth.inlineCredentials ?? {};
  const weak =
    auth.type === 'static'
      ? credentialWeakness('password', inline['password'] ?? '', inline['username'])
      : credentialWeakness('shared secret', inline['secret'] ?? '');
  if (auth.type === 'static' && (inline['username'] ?? '') === '')
    problems.push('username must not be empty');
  if (weak && !allowWeakCredentials)
    problems.push(`${weak}; choose a strong one, or set allowWeakCredentials: true for a demo`);
  return problems;
}

export interface ListenerProps {
  readonly listeners: readonly GatewayListener[];
  readonly serviceType: ServiceType;
  readonly healthPort: number;
  /** Undefined when metrics are off. */
  readonly metricsPort: number | undefined;
  readonly exposeHealthCheckPort: boolean;
  readonly mixedProtocolLoadBalancer: boolean;
}

export function listenerProblems(g: ListenerProps): string[] {
  const problems: string[] = [];
  if (g.listeners.length === 0)
    problems.push('the gateway has no listeners; pass listeners or call addListener()');
  const names = new Map<string, number>();
  const servicePorts = new Map<string, number>();
  const podPorts = new Map<string, number>();
  const transports = new Set<string>();
  const reserved = new Map<number, string>([[g.healthPort, 'the health port']]);
  if (g.metricsPort !== undefined) reserved.set(g.metricsPort, 'the metrics port');
  g.listeners.forEach((l, i) => {
    const at = `listener "${l.name}" (listeners[${i}])`;
    const why = dns1035Problem(l.name);
    if (why) problems.push(`${at}: name ${why}`);
    const first = names.get(l.name);
    if (first !== undefined) problems.push(`${at}: duplicate listener name (also listeners[${first}])`);
    else names.set(l.name, i);
    const protocol = l.protocol ?? 'TURN-UDP';
    if (!(LISTENER_PROTOCOLS as readonly ListenerProtocol[]).includes(protocol)) {
      problems.push(`${at}: protocol "${protocol}" is not one of ${LISTENER_PROTOCOLS.join(', ')}`);
      return;
    }
    const transport = listenerServiceProtocol(protocol);
    transports.add(transport);
    const port = l.port ?? DEFAULT_PORT;
    const target = l.targetPort ?? port;
    for (const [field, v] of [
      ['port', port],
      ['targetPort', target],
      ['nodePort', l.nodePort],
      ['minRelayPort', l.minRelayPort],
      ['maxRelayPort', l.maxRelayPort],
    ] as const) {
      if (v !== undefined && !isPort(v)) problems.push(`${at}: ${field} ${v} is not a valid port`);
    }
    const sp = `${port}/${transport}`;
    const firstPort = servicePorts.get(sp);
    if (firstPort !== undefined)
      problems.push(
        `${at}: duplicate port ${sp} (also listeners[${firstPort}] "${g.listeners[firstPort]!.name}")`,
      );
    else servicePorts.set(sp, i);
    const tp = `${target}/${transport}`;
    const firstTarget = podPorts.get(tp);
    if (firstTarget !== undefined && firstPort === undefined)
      problems.push(`${at}: duplicate targetPort ${tp} (also listeners[${firstTarget}])`);
    else podPorts.set(tp, i);
    if (transport === 'TCP' && reserved.has(target))
      problems.push(`${at}: targetPort ${target} is ${reserved.get(target)}`);
    if (l.nodePort !== undefined && g.serviceType === 'ClusterIP')
      problems.push(`${at}: nodePort needs serviceType NodePort or LoadBalancer`);
    const tls = isTlsProtocol(protocol);
    if (tls && l.tlsSecret === undefined)
      problems.push(
        `${at}: a ${protocol} listener needs a certificate; set tlsSecret to a ${TLS_SECRET_TYPE} Secret`,
      );
    if (!tls && l.tlsSecret !== undefined)
      problems.push(`${at}: tlsSecret is only for TURN-TLS and TURN-DTLS`);
    if (l.certificate !== undefined && l.certificate.dnsNames.length === 0)
      problems.push(`${at}: certificate needs at least one DNS name`);
    if ((l.minRelayPort === undefined) !== (l.maxRelayPort === undefined))
      problems.push(`${at}: set both minRelayPort and maxRelayPort, or neither`);
    else if (l.minRelayPort !== undefined && l.maxRelayPort! < l.minRelayPort)
      problems.push(`${at}: maxRelayPort ${l.maxRelayPort} is below minRelayPort ${l.minRelayPort}`);
  });
  if (g.exposeHealthCheckPort) transports.add('TCP');
  if (g.serviceType === 'LoadBalancer' && transports.size > 1 && !g.mixedProtocolLoadBalancer)
    problems.push(
      'the LoadBalancer Service would mix UDP and TCP ports, which not every cloud supports; set mixedProtocolLoadBalancer: true, or split the listeners into two gateways',
    );
  return problems;
}
