/** A gateway's listeners as the user declares them. */
import type { ISecretSource } from '../core/secrets.js';
import type { ListenerProtocol } from './types.js';

/** One TURN listener: a Service port, and a socket of the runtime. */
export interface GatewayListener {
  /** Listener name: a DNS label (it names the Service port). Rendered as `ns/gateway/name`. */
  readonly name: string;
  /**
   * @default 'TURN-UDP'
   */
  readonly protocol?: ListenerProtocol;
  /**
   * The port clients connect to: the Service port.
   * @default 3478
   */
  readonly port?: number;
  /**
   * The port the runtime binds in the pod (the Service's targetPort).
   * @default the same as `port`
   */
  readonly targetPort?: number;
  /**
   * NodePort, for NodePort and LoadBalancer Services.
   * @default assigned by Kubernetes
   */
  readonly nodePort?: number;
  /**
   * The `kubernetes.io/tls` Secret in the gateway's namespace with the listener's certificate and
   * key (`tls.crt`, `tls.key`); required for TURN-TLS and TURN-DTLS. The name of an existing
   * Secret, or a `SealedSecret` / `ExternalSecret` (any ISecretSource), whose keys synth checks.
   * They are injected into the config when the pod starts.
   * @default none
   */
  readonly tlsSecret?: string | ISecretSource;
  /**
   * Have cert-manager issue the listener's certificate (a cert-manager.io/v1 Certificate) into
   * `tlsSecret`, which then defaults to `<gateway>-<listener>-tls`.
   * @default none: bring your own Secret
   */
  readonly certificate?: ListenerCertificate;
  /**
   * Relay (allocation) port range in the pod; also narrows the NetworkPolicy, and is what a
   * headless route admits on the gateway pods.
   * @default ports assigned by the kernel; 32768 (Linux's default ephemeral range, rendered
   * explicitly) when a headless route attaches to the gateway
   */
  readonly minRelayPort?: number;
  /** @default ports assigned by the kernel; 60999 when a headless route attaches to the gateway */
  readonly maxRelayPort?: number;
}

/** A certificate cert-manager issues for a TLS or DTLS listener. */
export interface ListenerCertificate {
  /** Name of the cert-manager Issuer or ClusterIssuer. */
  readonly issuer: string;
  /**
   * @default 'ClusterIssuer'
   */
  readonly issuerKind?: 'Issuer' | 'ClusterIssuer';
  /** DNS names clients use to reach the listener. */
  readonly dnsNames: readonly string[];
}
