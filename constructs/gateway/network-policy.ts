/**
 * Deny by default around the gateway pods. Ingress: the listener, health and metrics ports, and
 * relayed media from routed peers (ICE checks may arrive before the relay has sent anything).
 * Egress: routed peers, DNS, and the Kubernetes API for the in-pod watcher.
 */
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule';
import type { INetworkPolicyIngressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyIngressRule';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import type { INetworkPolicySpec } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicySpec';
import { type GatewayModel, transportOf } from './model.js';

export interface NetworkPolicyOptions {
  readonly selector: Readonly<Record<string, string>>;
  readonly kubernetesApiCidrs: readonly string[] | undefined;
}

export function renderNetworkPolicy(m: GatewayModel, o: NetworkPolicyOptions): INetworkPolicySpec {
  const listenerPorts: INetworkPolicyPort[] = m.listeners.map((l) => ({
    protocol: transportOf(l.protocol),
    port: l.targetPort,
  }));
  const adminPorts: INetworkPolicyPort[] = [{ protocol: 'TCP', port: m.healthPort }];
  if (m.metricsPort !== undefined) adminPorts.push({ protocol: 'TCP', port: m.metricsPort });

  // Relay sockets: the configured ranges if every listener has one, else any UDP port.
  const ranged = m.listeners.length > 0 && m.listeners.every((l) => l.minRelayPort !== undefined);
  const relayPorts: INetworkPolicyPort[] = ranged
    ? dedupe(m.listeners.map((l) => ({ protocol: 'UDP', port: l.minRelayPort!, endPort: l.maxRelayPort! })))
    : [{ protocol: 'UDP' }];

  const ingress: INetworkPolicyIngressRule[] = [];
  if (listenerPorts.length > 0) ingress.push({ ports: dedupe(listenerPorts) });
  ingress.push({ ports: adminPorts });
  const egress: INetworkPolicyEgressRule[] = [
    {
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    },
    {
      to: (o.kubernetesApiCidrs ?? ['0.0.0.0/0', '::/0']).map((cidr) => ({ ipBlock: { cidr } })),
      ports: [
        { protocol: 'TCP', port: 443 },
        { protocol: 'TCP', port: 6443 },
      ],
    },
  ];

  const seen = new Set<string>();
  for (const route of m.routes) {
    for (const { peer, ports } of route.peers) {
      const key = JSON.stringify([peer, ports]);
      if (seen.has(key)) continue;
      seen.add(key);
      // Our structural types are the models' shapes with readonly arrays.
      const p = peer as INetworkPolicyPeer;
      ingress.push({ from: [p], ports: relayPorts });
      egress.push({ to: [p], ports: ports as INetworkPolicyPort[] });
    }
  }
  return {
    podSelector: { matchLabels: { ...o.selector } },
    policyTypes: ['Ingress', 'Egress'],
    ingress,
    egress,
  };
}

function dedupe(ports: INetworkPolicyPort[]): INetworkPolicyPort[] {
  const seen = new Set<string>();
  return ports.filter((p) => {
    const k = JSON.stringify(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
