/**
 * What a namespace we render carries: Pod Security Admission labels (`restricted` unless a
 * third-party image in it needs `baseline`; audit and warn stay at `restricted`), and a
 * default-deny NetworkPolicy, so that every pod there gets only what its own policy admits.
 */
import type { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { LABEL_MANAGED_BY, LABEL_NAMESPACE_NAME, MANAGED_BY } from '../../contract/labels.js';
import { renderObject } from './api-object.js';
import type { K8sNetworkPolicyPeer } from './k8s-types.js';
import { chartNamespace } from './naming.js';

/** The Pod Security Standard a namespace enforces. */
export type PodSecurityLevel = 'restricted' | 'baseline';

export const POD_SECURITY_ENFORCE = 'pod-security.kubernetes.io/enforce';
export const POD_SECURITY_AUDIT = 'pod-security.kubernetes.io/audit';
export const POD_SECURITY_WARN = 'pod-security.kubernetes.io/warn';

/** A Namespace's labels: enforce `level`; audit and warn always at `restricted`. */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  return {
    [POD_SECURITY_ENFORCE]: level,
    [POD_SECURITY_AUDIT]: 'restricted',
    [POD_SECURITY_WARN]: 'restricted',
  };
}

/** The name of the default-deny NetworkPolicy in each namespace we render. */
export const DEFAULT_DENY_POLICY = 'default-deny';

/** The cluster DNS pods (kube-dns or CoreDNS, labelled `k8s-app: kube-dns` in `kube-system`). */
export const KUBE_DNS_PEER: K8sNetworkPolicyPeer = {
  namespaceSelector: { matchLabels: { [LABEL_NAMESPACE_NAME]: 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};

export interface DefaultDenyPolicyProps {
  /**
   * @default the chart's namespace, or "default"
   */
  readonly namespace?: string;
  /**
   * @default 'default-deny'
   */
  readonly name?: string;
  /**
   * Let every pod of the namespace ask the cluster DNS (UDP and TCP 53); `false` denies it too.
   * @default true
   */
  readonly dns?: boolean;
  /**
   * Where the cluster DNS is (e.g. a NodeLocal DNSCache address as an ipBlock).
   * @default kube-system's pods labelled `k8s-app: kube-dns`
   */
  readonly dnsPeers?: readonly K8sNetworkPolicyPeer[];
  /**
   * @default none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * A NetworkPolicy selecting every pod of a namespace with no ingress and, apart from DNS, no
 * egress: what other policies admit is all that is admitted.
 */
export class DefaultDenyPolicy extends Construct {
  readonly namespace: string;
  readonly policyName: string;
  /** The NetworkPolicy. */
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: DefaultDenyPolicyProps = {}) {
    super(scope, id);
    this.namespace = props.namespace ?? chartNamespace(this);
    this.policyName = props.name ?? DEFAULT_DENY_POLICY;
    const dnsPeers = props.dnsPeers ?? [KUBE_DNS_PEER];
    this.apiObject = renderObject(this, 'Resource', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: this.policyName,
        namespace: this.namespace,
        labels: { ...props.labels, [LABEL_MANAGED_BY]: MANAGED_BY },
      },
      spec: {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [],
        egress:
          (props.dns ?? true)
            ? [
                {
                  to: dnsPeers.map((p) => ({ ...p })),
                  ports: [
                    { protocol: 'UDP', port: 53 },
                    { protocol: 'TCP', port: 53 },
                  ],
                },
              ]
            : [],
      },
    });
  }
}
