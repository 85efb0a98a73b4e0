/** How the in-pod watchers reach the Kubernetes API: the pod's service account, or an explicit server. */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { KubeApi, type KubeRequestOptions } from './kube-api.js';

export interface KubeApiOptions {
  /** API server URL (http:// or https://). @default the in-cluster service (KUBERNETES_SERVICE_HOST/PORT) */
  readonly server?: string;
  /** Bearer token for an explicit server. @default the pod's service-account token file */
  readonly token?: string;
  /** A file holding the bearer token for an explicit server, re-read before every request. */
  readonly tokenFile?: string;
  /** Skip TLS verification of an explicit server (never used in-cluster). @default false */
  readonly insecureSkipTlsVerify?: boolean;
}

export { inCluster } from './in-cluster.js';

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Where a pod's API server is when its environment does not say: only named in log lines here. */
const IN_CLUSTER_DNS = 'https://kubernetes.default.svc';

/**
 * The API as the options say: an explicit server, else the pod's service account (its token is
 * re-read before every request: bound service-account tokens rotate). Throws when an explicit token
 * file cannot be read; outside a pod, every request fails with that reason.
 */
export function makeKubeApi(opts: KubeApiOptions = {}, env: NodeJS.ProcessEnv = process.env): KubeApi {
  if (opts.server !== undefined) {
    const { token, tokenFile } = opts;
    // A typo in an explicit path is for the operator to see at startup, not as retries.
    if (tokenFile !== undefined) readFileSync(tokenFile, 'utf8');
    return new KubeApi({
      server: opts.server,
      requestOptions: async () => {
        const bearer = tokenFile !== undefined ? await readToken(tokenFile) : token;
        return {
          ...(opts.insecureSkipTlsVerify && { rejectUnauthorized: false }),
          ...(bearer && { headers: { authorization: `Bearer ${bearer}` } }),
        };
      },
    });
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  // Every request fails with the reason, so a watcher logs it and retries with backoff while the
  // process keeps serving from its flags and last known state, as with an unreachable API.
  if (!host || !port)
    return new KubeApi({
      server: IN_CLUSTER_DNS,
      requestOptions: () => {
        throw new Error('not in a pod: KUBERNETES_SERVICE_HOST/PORT are not set');
      },
    });
  return new KubeApi({
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    requestOptions: async (): Promise<KubeRequestOptions> => ({
      ca: await readFile(`${SERVICE_ACCOUNT}/ca.crt`).catch((e: Error) => {
        throw new Error(`service-account CA: ${e.message}`);
      }),
      headers: { authorization: `Bearer ${await readToken(`${SERVICE_ACCOUNT}/token`)}` },
    }),
  });
}

async function readToken(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (e) {
    throw new Error(`bearer token: ${(e as Error).message}`);
  }
}
