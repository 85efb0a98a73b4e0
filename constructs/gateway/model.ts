/** The resolved view of a gateway that the renderers work from. */
import type { LogFormat } from '../../contract/defaults.js';
import type { ListenerProtocol, RoutePlan } from '../types.js';

export interface ListenerModel {
  readonly name: string;
  readonly protocol: ListenerProtocol;
  /** Service port. */
  readonly port: number;
  /** Port the runtime binds in the pod. */
  readonly targetPort: number;
  readonly nodePort: number | undefined;
  readonly tlsSecret: string | undefined;
  readonly minRelayPort: number | undefined;
  readonly maxRelayPort: number | undefined;
}

export interface GatewayModel {
  readonly name: string;
  readonly namespace: string;
  readonly realm: string;
  readonly authType: 'static' | 'ephemeral';
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  readonly userQuota: number;
  readonly maxAllocations: number;
  readonly clientQuota: number;
  readonly maxConnectionsPerIp: number;
  readonly newConnectionsPerIp: number;
  readonly authFailuresPerIp: number;
  readonly relayThreads: number;
  readonly healthPort: number;
  /** Undefined when metrics are off. */
  readonly metricsPort: number | undefined;
  readonly publicAddress: string | undefined;
  readonly serviceType: 'LoadBalancer' | 'NodePort' | 'ClusterIP';
  readonly listeners: readonly ListenerModel[];
  readonly routes: readonly RoutePlan[];
  /** Inline credentials, for synth-time validation only: never rendered into the config. */
  readonly inlineCredentials: Readonly<Record<string, string>> | undefined;
}

export function transportOf(p: ListenerProtocol): 'UDP' | 'TCP' {
  return p === 'TURN-UDP' || p === 'TURN-DTLS' ? 'UDP' : 'TCP';
}
