/**
 * Deny by default around the gateway pods. Ingress: the listener ports; the metrics port from the
 * scrapers only; the health port (`/live`, `/ready`, `/status`) from nobody unless asked (the
 * kubelet's probes are never subject to NetworkPolicy), or from anywhere when the Service exposes
 * it to a cloud load balancer's checks; relayed media from routed peers (ICE checks may arrive
 * before the relay has sent anything). Egress: routed peers, DNS, and the Kubernetes API server's
 * addresses and ports for the in-pod watcher.
 */

import { type ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule';
import type { INetworkPolicyIngressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyIngressRule';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import type { INetworkPolicySpec } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicySpec';
import { listenerServiceProtocol } from '../../contract/config/types.js';
import { ownedMetadata, renderObject } from '../core/api-object.js';
import type { K8sNetworkPolicyPeer } from '../core/k8s-types.js';
import { kubernetesApiEgress } from '../core/kubernetes-api.js';
import { uniquePorts } from '../core/network-policy-object.js';
import type { GatewayModel, NetworkPolicyModel } from './model.js';

export function renderNetworkPolicy(m: GatewayModel, o: NetworkPolicyModel): INetworkPolicySpec {
  const listenerPorts: INetworkPolicyPort[] = m.listeners.map((l) => ({
    protocol: listenerServiceProtocol(l.protocol),
    port: l.targetPort,
  }));

  // Relay sockets: the configured ranges if every listener has one, else any UDP port.
  const ranged = m.listeners.length > 0 && m.listeners.every((l) => l.minRelayPort !== undefined);
  const relayPorts: INetworkPolicyPort[] = ranged
    ? uniquePorts(
        m.listeners.map((l) => ({ protocol: 'UDP', port: l.minRelayPort!, endPort: l.maxRelayPort! })),
      )
    : [{ protocol: 'UDP' }];

  const ingress: INetworkPolicyIngressRule[] = [];
  if (listenerPorts.length > 0) ingress.push({ ports: uniquePorts(listenerPorts) });
  const health: INetworkPolicyPort[] = [{ protocol: 'TCP', port: m.healthPort }];
  if (o.healthFrom === undefined) ingress.push({ ports: health });
  else if (o.healthFrom.length > 0) ingress.push({ from: o.healthFrom.map(asPeer), ports: health });
  if (m.metricsPort !== undefined && o.metricsFrom.length > 0)
    ingress.push({ from: o.metricsFrom.map(asPeer), ports: [{ protocol: 'TCP', port: m.metricsPort }] });
  const egress: INetworkPolicyEgressRule[] = [
    {
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    },
    kubernetesApiEgress(o.kubernetesApi) as INetworkPolicyEgressRule,
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
    podSelector: { matchLabels: { ...m.selectorLabels } },
    policyTypes: ['Ingress', 'Egress'],
    ingress,
    egress,
  };
}

/** The gateway's NetworkPolicy, at `Resource`; routes attached later add their peers. */
export class GatewayNetworkPolicy extends Construct {
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, model: () => GatewayModel, policy: NetworkPolicyModel) {
    super(scope, id);
    const m = model();
    this.apiObject = renderObject(this, 'Resource', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: ownedMetadata(m, m.name),
      spec: Lazy.any({ produce: () => renderNetworkPolicy(model(), policy) }),
    });
  }
}

/** Our structural peer type is the model's shape with readonly arrays. */
function asPeer(p: K8sNetworkPolicyPeer): INetworkPolicyPeer {
  return JSON.parse(JSON.stringify(p)) as INetworkPolicyPeer;
}
