/** How the in-pod watchers reach the Kubernetes API: the pod's service account, or an explicit server. */
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeApiOptions {
  /** API server URL. @default the in-cluster service (KUBERNETES_SERVICE_HOST/PORT) */
  readonly server?: string;
  /** Bearer token. @default the pod's service-account token file */
  readonly token?: string;
  /** Skip TLS verification of an explicit server (never used in-cluster). @default false */
  readonly insecureSkipTlsVerify?: boolean;
}

export { inCluster } from './in-cluster.js';

export function makeKubeConfig(opts: KubeApiOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (opts.server === undefined) {
    kc.loadFromCluster();
    return kc;
  }
  // The client refuses plain http unless TLS verification is off; there is no TLS to verify then.
  const plain = opts.server.startsWith('http://');
  kc.loadFromOptions({
    clusters: [
      { name: 'api', server: opts.server, skipTLSVerify: plain || (opts.insecureSkipTlsVerify ?? false) },
    ],
    users: [{ name: 'sa', token: opts.token }],
    contexts: [{ name: 'ctx', cluster: 'api', user: 'sa' }],
    currentContext: 'ctx',
  });
  return kc;
}
