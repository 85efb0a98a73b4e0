/**
 * The gateway's dataplane config, typed by the runtime's own contract and validated with the
 * runtime's own validator at synth time. Secret material is not rendered: the pod's bootstrap
 * injects auth.credentials and TLS cert/key from mounted Secrets when it starts.
 */
import { type ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { adminEndpointUrl } from '../../contract/admin-endpoint.js';
import {
  type ConfigProblem,
  type ListenerConfig,
  type StunnerConfig,
  stringifyConfig,
  validateConfig,
} from '../../contract/config/index.js';
import { DEFAULT_METRICS_PATH } from '../../contract/defaults.js';
import { ANNOTATION_INJECTED } from '../../contract/labels.js';
import { POD_ADDRESS, RuntimeEnv } from '../../contract/pod-env.js';
import { CONFIG_KEY } from '../../contract/pod-layout.js';
import { unsupportedProblems } from '../../contract/support.js';
import { ownedMetadata, renderObject } from '../core/api-object.js';
import type { GatewayModel } from './model.js';

/** Stand-ins for what only the pod knows, used to validate the rendered config. */
const SYNTH_ENV = {
  [RuntimeEnv.ADDR]: '192.0.2.10',
  [RuntimeEnv.NAME]: 'synth',
  [RuntimeEnv.NAMESPACE]: 'synth',
  [RuntimeEnv.NODENAME]: 'synth',
};
const PLACEHOLDER_PEM = Buffer.from('-----BEGIN PLACEHOLDER-----\n-----END PLACEHOLDER-----\n').toString(
  'base64',
);

export interface DataplaneConfig {
  readonly config: StunnerConfig;
  /** The ConfigMap text: canonical JSON, one trailing newline. */
  readonly text: string;
  /** Problems the runtime's validator finds (with secrets and pod values stood in). */
  readonly problems: readonly ConfigProblem[];
}

export function buildDataplaneConfig(m: GatewayModel): DataplaneConfig {
  const clusters = m.routes
    .flatMap((r) => r.clusters.map((c) => ({ ...c, endpoints: [...c.endpoints] })))
    .sort((a, b) => cmp(a.name, b.name));
  const listeners: ListenerConfig[] = m.listeners.map((l) => {
    const routes = m.routes
      .filter((r) => r.listeners === undefined || r.listeners.includes(l.name))
      .flatMap((r) => r.clusters.map((c) => c.name))
      .sort(cmp);
    const publicPort = m.serviceType === 'NodePort' && l.nodePort !== undefined ? l.nodePort : l.port;
    return {
      name: `${m.namespace}/${m.name}/${l.name}`,
      protocol: l.protocol,
      address: POD_ADDRESS,
      port: l.targetPort,
      ...(m.publicAddress !== undefined ? { public_address: m.publicAddress } : {}),
      public_port: publicPort,
      ...(l.minRelayPort !== undefined
        ? { min_relay_port: l.minRelayPort, max_relay_port: l.maxRelayPort }
        : {}),
      routes: [...new Set(routes)],
    };
  });
  const config: StunnerConfig = {
    version: 'v1',
    admin: {
      name: `${m.namespace}/${m.name}`,
      loglevel: m.logLevel,
      metrics_endpoint:
        m.metricsPort !== undefined ? adminEndpointUrl(m.metricsPort, DEFAULT_METRICS_PATH) : '',
      // Every address, as STUNner does: valid for IPv4 and IPv6 pods, and for kubectl port-forward.
      healthcheck_endpoint: adminEndpointUrl(m.healthPort),
      user_quota: m.userQuota,
      max_allocations: m.maxAllocations,
      client_quota: m.clientQuota,
      auth_failures_per_ip: m.authFailuresPerIp,
      max_connections_per_ip: m.maxConnectionsPerIp,
      new_connections_per_ip: m.newConnectionsPerIp,
      threads: m.relayThreads,
    },
    auth: { type: m.authType, realm: m.realm, credentials: {} },
    listeners,
    clusters,
  };

  const credentials =
    m.inlineCredentials ??
    (m.authType === 'static'
      ? { username: 'from-secret', password: 'from-secret' }
      : { secret: 'from-secret-from-secret' });
  const probe = {
    ...config,
    auth: { ...config.auth, credentials },
    listeners: listeners.map((l, i) =>
      m.listeners[i]?.tlsSecret !== undefined ? { ...l, cert: PLACEHOLDER_PEM, key: PLACEHOLDER_PEM } : l,
    ),
  };
  const result = validateConfig(probe, { env: SYNTH_ENV });
  // What the schema allows but this runtime refuses at start (e.g. TURN-DTLS) fails synth instead.
  const problems = result.ok ? unsupportedProblems(result.config) : result.problems;
  return { config, text: `${stringifyConfig(config)}\n`, problems };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The ConfigMap with the dataplane config under `stunnerd.conf`, at `Resource`. Its annotation
 * tells a reviewer which fields the pod fills in from Secrets when it starts.
 */
export class DataplaneConfigMap extends Construct {
  readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, model: () => GatewayModel) {
    super(scope, id);
    const m = model();
    this.apiObject = renderObject(this, 'Resource', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: ownedMetadata(m, m.configMapName, {
        [ANNOTATION_INJECTED]: Lazy.any({ produce: () => injectedDescription(model()) }),
      }),
      data: Lazy.any({ produce: () => ({ [CONFIG_KEY]: buildDataplaneConfig(model()).text }) }),
    });
  }
}

function injectedDescription(m: GatewayModel): string {
  const parts = [`auth.credentials from Secret ${m.credentialsSecretName}`];
  const tls = m.listeners.filter((l) => l.tlsSecret !== undefined);
  if (tls.length > 0)
    parts.push(`cert/key of ${tls.map((l) => `listener ${l.name} from Secret ${l.tlsSecret}`).join(', ')}`);
  return parts.join('; ');
}
