/** Synth-time checks of a gateway's props, each problem with where and why. */
import { DEFAULT_PORT, type ListenerProtocol } from '../../contract/config/index.js';
import { credentialWeakness } from '../credentials.js';
import type { GatewayListener } from '../gateway-listener.js';
import { dns1035Problem } from '../naming.js';
import type { TurnAuth } from '../turn-auth.js';

const PROTOCOLS: readonly ListenerProtocol[] = ['TURN-UDP', 'TURN-TCP', 'TURN-TLS', 'TURN-DTLS'];

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
  readonly serviceType: 'LoadBalancer' | 'NodePort' | 'ClusterIP';
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
    if (!PROTOCOLS.includes(protocol)) {
      problems.push(`${at}: protocol "${protocol}" is not one of ${PROTOCOLS.join(', ')}`);
      return;
    }
    const transport = protocol === 'TURN-UDP' || protocol === 'TURN-DTLS' ? 'UDP' : 'TCP';
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
      if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= 65535))
        problems.push(`${at}: ${field} ${v} is not a valid port`);
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
    const tls = protocol === 'TURN-TLS' || protocol === 'TURN-DTLS';
    if (tls && l.tlsSecret === undefined)
      problems.push(
        `${at}: a ${protocol} listener needs a certificate; set tlsSecret to a kubernetes.io/tls Secret`,
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

export function dns1123SubdomainProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))
    return `"${name}" is not a valid object name (lowercase letters, digits, '-' and '.')`;
  return undefined;
}
