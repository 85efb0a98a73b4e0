/**
 * A cluster as a value: its name (also its directory under dist/), labels, where Argo CD deploys
 * to it, and the public addresses its clients reach it at.
 */
import { dns1123Problem } from '../../contract/checks.js';
import { type KubernetesApiEndpoint, kubernetesApiProblems } from '../core/kubernetes-api.js';
import { labelProblems } from '../core/naming.js';

/** The in-cluster API server URL Argo CD uses for the cluster it runs in. */
export const IN_CLUSTER_SERVER = 'https://kubernetes.default.svc';

/** Where an Argo CD Application deploys: a cluster by API server URL, or by its Argo CD name. */
export class ClusterDestination {
  /** A cluster by API server URL, e.g. `https://kubernetes.default.svc`. */
  static byServer(url: string): ClusterDestination {
    return new ClusterDestination(url, undefined);
  }

  /** A cluster by the name it is registered under in Argo CD (`argocd cluster add --name`). */
  static byName(argoCdClusterName: string): ClusterDestination {
    return new ClusterDestination(undefined, argoCdClusterName);
  }

  /** The cluster Argo CD itself runs in. */
  static inCluster(): ClusterDestination {
    return ClusterDestination.byServer(IN_CLUSTER_SERVER);
  }

  private constructor(
    /** API server URL, when chosen by URL. */
    readonly server: string | undefined,
    /** Argo CD cluster name, when chosen by name. */
    readonly name: string | undefined,
  ) {}

  /** `{ server }` or `{ name }`, plus the namespace when given: an Application's spec.destination. */
  toSpec(namespace?: string): { server?: string; name?: string; namespace?: string } {
    return {
      ...(this.server !== undefined ? { server: this.server } : { name: this.name }),
      ...(namespace !== undefined && { namespace }),
    };
  }

  /** Why this destination is invalid, or []. */
  problems(): string[] {
    if (this.server !== undefined) {
      if (!/^https?:\/\/[^\s/]+/.test(this.server)) {
        return [`destination server "${this.server}" is not an http(s) URL of a Kubernetes API server`];
      }
      return [];
    }
    if (!this.name) return ['destination cluster name must not be empty'];
    return [];
  }

  toString(): string {
    return this.server !== undefined ? `server ${this.server}` : `cluster ${this.name}`;
  }
}

/** What a construct needs to know about a cluster it renders for. */
export interface IGitOpsCluster {
  /** The cluster's name: its directory `dist/<name>/` and its Argo CD Application's suffix. */
  readonly name: string;
  /** Labels (ApplicationSet cluster generators select clusters by their Argo CD labels). */
  readonly labels: Readonly<Record<string, string>>;
  /** Where Argo CD deploys this cluster's directory. */
  readonly destination: ClusterDestination;
  /** Public IPs or DNS names of this cluster's gateways (for publicAddress, ICE URIs). */
  readonly publicAddresses: readonly string[];
  /** Where pods reach this cluster's API server (NetworkPolicy egress of the watchers). */
  readonly kubernetesApi?: KubernetesApiEndpoint;
}

export interface GitOpsClusterProps {
  /**
   * The cluster's name: a DNS-1123 label. It names the directory `dist/<name>/` and, with an
   * ApplicationSet cluster generator, must equal the name the cluster is registered under in
   * Argo CD.
   */
  readonly name: string;
  /**
   * Labels of the cluster (as on its Argo CD cluster Secret: ApplicationSets select by them).
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Where Argo CD deploys this cluster's manifests.
   * @default ClusterDestination.byName(name)
   */
  readonly destination?: ClusterDestination;
  /**
   * Public IPv4/IPv6 addresses or DNS names that clients reach this cluster's gateways at.
   * @default [] (the gateways learn theirs from their Service status)
   */
  readonly publicAddresses?: readonly string[];
  /**
   * Where pods reach this cluster's API server (its own addresses and port): every gateway and ICE
   * auth service of the cluster's charts egresses only there (MultiClusterApp passes it on).
   * @default DEFAULT_KUBERNETES_API (the private address ranges, TCP 443 and 6443)
   */
  readonly kubernetesApi?: KubernetesApiEndpoint;
}

/** A cluster (or an environment: staging, production) that gets its own directory in dist/. */
export class GitOpsCluster implements IGitOpsCluster {
  /** The cluster Argo CD runs in, destination `https://kubernetes.default.svc`. */
  static inCluster(props: Omit<GitOpsClusterProps, 'destination'> = { name: 'in-cluster' }): GitOpsCluster {
    return new GitOpsCluster({ ...props, destination: ClusterDestination.inCluster() });
  }

  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly destination: ClusterDestination;
  readonly publicAddresses: readonly string[];
  readonly kubernetesApi: KubernetesApiEndpoint | undefined;

  constructor(props: GitOpsClusterProps) {
    this.name = props.name;
    this.labels = { ...(props.labels ?? {}) };
    this.destination = props.destination ?? ClusterDestination.byName(props.name);
    this.publicAddresses = [...(props.publicAddresses ?? [])];
    this.kubernetesApi = props.kubernetesApi;
  }

  toString(): string {
    return `cluster "${this.name}"`;
  }
}

const HOST = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;

/** Why `address` is neither an IP address nor a DNS name, or undefined. */
export function addressProblem(address: string): string | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    return address.split('.').every((o) => Number(o) <= 255)
      ? undefined
      : `"${address}" is not an IPv4 address`;
  }
  if (address.includes(':'))
    return /^[0-9a-f:.]+$/i.test(address) ? undefined : `"${address}" is not an IPv6 address`;
  if (address.length <= 253 && HOST.test(address)) return undefined;
  return `"${address}" is neither an IP address nor a DNS name`;
}

/** Why a cluster is invalid (each message names the cluster), or []. */
export function clusterProblems(cluster: IGitOpsCluster): string[] {
  const problems: string[] = [];
  const nameProblem = dns1123Problem(cluster.name);
  if (nameProblem) problems.push(`cluster name ${nameProblem} (it names the directory dist/<name>/)`);
  problems.push(...labelProblems(cluster.labels));
  problems.push(...cluster.destination.problems());
  for (const a of cluster.publicAddresses) {
    const p = addressProblem(a);
    if (p) problems.push(`public address ${p}`);
  }
  if (cluster.kubernetesApi !== undefined) problems.push(...kubernetesApiProblems(cluster.kubernetesApi));
  return problems.map((p) => `cluster "${cluster.name}": ${p}`);
}
