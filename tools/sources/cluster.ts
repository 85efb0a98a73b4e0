/**
 * Gateways from a live cluster: the ConfigMaps labelled as the constructs label them, the gateway
 * Service's status (public address, or a node's ExternalIP for NodePorts), the Secret when
 * readable, and the gateway pods; watched through the ConfigMaps for `-w`.
 */
import type { RequestOptions } from 'node:https';
import { CoreV1Api, KubeConfig, type V1ConfigMap, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { healthcheckEndpointOf } from '../../contract/admin-endpoint.js';
import type { StunnerConfig } from '../../contract/config/index.js';
import { GATEWAY_LABEL_SELECTOR, gatewaySelectorLabels, labelSelector } from '../../contract/labels.js';
import { CONFIG_KEY } from '../../contract/pod-layout.js';
import { KubeApi, type KubeRequestOptions } from '../../runtime/cluster-watch/kube-api.js';
import { ListWatch } from '../../runtime/cluster-watch/list-watch.js';
import { createLogger } from '../../runtime/log/logger.js';
import {
  fillCredentials,
  fillTls,
  hasCredentials,
  identity,
  listenerViews,
  parseConfigText,
  serviceView,
  sortViews,
  toConfig,
} from './gateway-view.js';
import {
  injectedSecret,
  injectedTlsSecrets,
  lookupSecret,
  type Obj,
  type SecretValues,
  secretValues,
} from './manifest.js';
import {
  type CredentialOrigin,
  type GatewaySource,
  type GatewayView,
  type PodView,
  SourceError,
} from './view.js';

export function loadKubeConfig(source: { kubeconfig?: string; context?: string }): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (source.kubeconfig !== undefined) kc.loadFromFile(source.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new SourceError(`kubeconfig: ${(e as Error).message.split('\n')[0]}`);
  }
  // With no kubeconfig anywhere the client library makes one up (http://localhost:8080), whose
  // errors say nothing of the cause.
  if (source.kubeconfig === undefined && kc.getCurrentContext() === 'loaded-context')
    throw new SourceError(
      'no kubeconfig: give --kubeconfig <file>, set $KUBECONFIG, or create ~/.kube/config (kubectl config view shows what kubectl uses)',
    );
  if (source.context !== undefined) {
    if (!kc.getContexts().some((c) => c.name === source.context))
      throw new SourceError(`kubeconfig has no context "${source.context}"`);
    kc.setCurrentContext(source.context);
  }
  if (!kc.getCurrentCluster()) throw new SourceError('kubeconfig: no current cluster');
  return kc;
}

/**
 * The runtime's list/watch client on a kubeconfig's current cluster and user: the client library
 * resolves the credentials (tokens, client certificates, exec plugins) before every request.
 */
export function kubeApiOf(kc: KubeConfig): KubeApi {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new SourceError('kubeconfig: no current cluster');
  return new KubeApi({
    server: cluster.server,
    requestOptions: async (): Promise<KubeRequestOptions> => {
      const o: RequestOptions = {};
      await kc.applyToHTTPSOptions(o);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(o.headers ?? {}))
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
      if (o.auth) headers.authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
      return {
        ...(o.ca !== undefined && { ca: o.ca }),
        ...(o.cert !== undefined && { cert: o.cert }),
        ...(o.key !== undefined && { key: o.key }),
        ...(o.rejectUnauthorized !== undefined && { rejectUnauthorized: o.rejectUnauthorized }),
        ...(o.servername !== undefined && { servername: o.servername }),
        headers,
      };
    },
  });
}

export async function readCluster(
  source: Extract<GatewaySource, { kind: 'cluster' }>,
  secretFile: SecretValues,
): Promise<GatewayView[]> {
  const kc = loadKubeConfig(source);
  const core = kc.makeApiClient(CoreV1Api);
  const context = kc.getCurrentContext();
  const ns = source.namespace;
  const api = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      throw new SourceError(`cluster ${context}: ${what}: ${apiReason(e)}`);
    }
  };
  const cms = await api('list gateway ConfigMaps', () =>
    ns
      ? core.listNamespacedConfigMap({ namespace: ns, labelSelector: GATEWAY_LABEL_SELECTOR })
      : core.listConfigMapForAllNamespaces({ labelSelector: GATEWAY_LABEL_SELECTOR }),
  );
  const views: GatewayView[] = [];
  for (const cm of cms.items) {
    const text = cm.data?.[CONFIG_KEY];
    if (text === undefined) continue;
    const cmNs = cm.metadata?.namespace ?? 'default';
    const where = `${context}/${cmNs}/${cm.metadata?.name}`;
    const base = toConfig(parseConfigText(text, where).raw, where);
    const config = base.config;
    const [namespace, name] = identity(config, cm as Obj);
    const svc = await core
      .readNamespacedService({ namespace, name })
      .catch(() => undefined as V1Service | undefined);
    const service = svc ? serviceView(svc as unknown as Obj) : undefined;
    const podList = await core
      .listNamespacedPod({
        namespace,
        labelSelector: labelSelector(gatewaySelectorLabels(name)),
      })
      .catch(() => undefined);
    const pods = (podList?.items ?? []).map((p) => podView(p, config));
    const ingress = svc?.status?.loadBalancer?.ingress?.find((i) => i.ip || i.hostname);
    let nodeAddress: string | undefined;
    if (!ingress && service && (service.type === 'NodePort' || service.type === 'LoadBalancer')) {
      const nodeName = pods.find((p) => p.node)?.node;
      if (nodeName) {
        const node = await core.readNode({ name: nodeName }).catch(() => undefined);
        nodeAddress = node?.status?.addresses?.find((a) => a.type === 'ExternalIP')?.address;
      }
    }
    let credentials: CredentialOrigin = { kind: 'none' };
    const named = injectedSecret(cm as Obj);
    if (hasCredentials(config)) credentials = { kind: 'inline' };
    else if (named) {
      const fromFile = lookupSecret(secretFile, namespace, named);
      if (fromFile) {
        fillCredentials(config, fromFile);
        credentials = { kind: 'secret', secret: named, readFrom: 'secret-file' };
      } else {
        try {
          const s = await core.readNamespacedSecret({ namespace, name: named });
          fillCredentials(config, secretValues(s as unknown as Obj));
          credentials = { kind: 'secret', secret: named, readFrom: 'cluster' };
        } catch (e) {
          credentials = { kind: 'secret', secret: named, unreadable: apiReason(e) };
        }
      }
    }
    // TLS keys only from --secret-file: no tool here terminates TLS, so none reads them from the cluster.
    const tls = fillTls(config, injectedTlsSecrets(cm as Obj), (secret) => {
      const values = lookupSecret(secretFile, namespace, secret);
      return values ? { values, from: 'secret-file' } : undefined;
    });
    const ia = ingress?.ip || ingress?.hostname;
    views.push({
      namespace,
      name,
      cluster: context,
      origin: where,
      config,
      listeners: listenerViews(
        config,
        service,
        {
          ...(ia && { ingress: ia }),
          ...(nodeAddress && { nodeAddress }),
        },
        undefined,
        tls,
      ),
      credentials,
      ...(service && { service }),
      pods,
      warnings: base.warnings,
    });
  }
  return sortViews(views);
}

function podView(p: V1Pod, config: StunnerConfig): PodView {
  const ip = p.status?.podIP;
  const port = healthcheckEndpointOf(config.admin)?.port;
  return {
    name: p.metadata?.name ?? '',
    ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    ...(ip && { ip }),
    ...(p.spec?.nodeName && { node: p.spec.nodeName }),
    ...(p.status?.phase && { phase: p.status.phase }),
    ...(ip && port !== undefined && { healthUrl: `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}` }),
  };
}

function apiReason(e: unknown): string {
  const err = e as {
    code?: number;
    statusCode?: number;
    body?: unknown;
    message?: string;
    cause?: { code?: string };
  };
  const code = err.code ?? err.statusCode;
  if (typeof code === 'number') {
    const reason =
      code === 401
        ? 'unauthorized'
        : code === 403
          ? 'forbidden'
          : code === 404
            ? 'not found'
            : `HTTP ${code}`;
    return `${reason} (${code})`;
  }
  return (err.cause?.code ?? err.message ?? String(e)).split('\n')[0]!;
}

/**
 * Calls onChange now and whenever a gateway ConfigMap changes, until the signal aborts (Services
 * and Secrets are re-read by the caller on each change).
 */
export async function watchCluster(
  source: Extract<GatewaySource, { kind: 'cluster' }>,
  onChange: () => void,
  signal: AbortSignal,
): Promise<void> {
  const ns = source.namespace;
  const watch = new ListWatch<V1ConfigMap>({
    what: 'gateway ConfigMaps',
    api: kubeApiOf(loadKubeConfig(source)),
    path: ns ? `/api/v1/namespaces/${ns}/configmaps` : '/api/v1/configmaps',
    query: { labelSelector: GATEWAY_LABEL_SELECTOR },
    onChange,
    log: createLogger('all:ERROR', (line) => process.stderr.write(`${line}\n`)).scope('watch'),
    initialBackoffMs: 250,
  });
  onChange();
  watch.start();
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  watch.stop();
}
