/**
 * What the gateway sources read, whatever the kind: a GatewayView per gateway (its StunnerConfig,
 * namespace/name, each listener's public endpoint or why it is not known, the origin of its
 * credentials), and SourceError, whose message is one line.
 */
import type { ListenerProtocol, StunnerConfig } from '../../contract/config/index.js';

export type GatewaySource =
  | { readonly kind: 'files'; readonly paths: readonly string[]; readonly secretFiles?: readonly string[] }
  | {
      readonly kind: 'cluster';
      readonly kubeconfig?: string;
      readonly context?: string;
      /** Only this namespace. @default all namespaces */
      readonly namespace?: string;
      readonly secretFiles?: readonly string[];
    }
  | { readonly kind: 'url'; readonly urls: readonly string[] };

export interface PublicEndpoint {
  readonly address: string;
  readonly port: number;
  /** `config` (public_address), `LoadBalancer`, `NodePort`, `Service spec`, or `status` (a runtime's watcher). */
  readonly source: string;
}

export interface ListenerView {
  /** Short name (`udp-listener` of `ns/gw/udp-listener`). */
  readonly name: string;
  readonly fullName: string;
  readonly protocol: ListenerProtocol;
  /** The port the runtime binds. */
  readonly port: number;
  /** The gateway Service's port for this listener, when a Service is known. */
  readonly servicePort?: number;
  readonly nodePort?: number;
  /** What clients dial, when known. */
  readonly public?: PublicEndpoint;
  /** Why no public endpoint is known (e.g. the load balancer assigns it at runtime). */
  readonly pending?: string;
  readonly routes: readonly string[];
  /** TURN-TLS/DTLS: where its certificate and key come from. */
  readonly tls?: TlsOrigin;
}

/**
 * Where a TLS listener's certificate and key come from. The pod injects them at start, so the
 * YAML never holds them: only a tool that terminates TLS needs them (tlsMaterialMissing).
 */
export type TlsOrigin =
  /** In the config itself. */
  | { readonly kind: 'config' }
  /** The kubernetes.io/tls Secret the gateway names; `readFrom` once its values were read. */
  | { readonly kind: 'secret'; readonly secret: string; readonly readFrom?: 'inline' | 'secret-file' }
  /** Neither in the config nor named (a bare config, or a runtime's /status, which never serves them). */
  | { readonly kind: 'unknown' };

export type CredentialOrigin =
  /** A Secret rendered into the same YAML (TurnAuth.inline*), or given in the config itself. */
  | { readonly kind: 'inline'; readonly secret?: string }
  /** A Secret the YAML only names; `backedBy` when the YAML renders it from a SealedSecret/ExternalSecret. */
  | {
      readonly kind: 'secret';
      readonly secret: string;
      readonly backedBy?: 'ExternalSecret' | 'SealedSecret';
      /** Where its values were read, if they were. */
      readonly readFrom?: 'secret-file' | 'cluster';
      /** Why they could not be read from the cluster. */
      readonly unreadable?: string;
    }
  /** A runtime's /status never serves credentials. */
  | { readonly kind: 'hidden' }
  | { readonly kind: 'none' };

export interface PodView {
  readonly name: string;
  readonly ip?: string;
  readonly node?: string;
  readonly phase?: string;
  readonly ready: boolean;
  /** http://<podIP>:<health port>, from admin.healthcheck_endpoint. */
  readonly healthUrl?: string;
}

export interface ServiceView {
  readonly name: string;
  readonly type: string;
  readonly ports: readonly {
    name?: string;
    port: number;
    protocol: string;
    nodePort?: number;
    targetPort?: number;
  }[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly externalTrafficPolicy?: string;
  readonly sessionAffinity?: string;
}

export interface GatewayView {
  readonly namespace: string;
  readonly name: string;
  /** The cluster it belongs to: a dist/ subdirectory (`eu-west`), a kube context, or a URL. */
  readonly cluster: string;
  /** The file, `context/namespace/configmap`, or URL it was read from. */
  readonly origin: string;
  readonly config: StunnerConfig;
  readonly listeners: readonly ListenerView[];
  readonly credentials: CredentialOrigin;
  readonly service?: ServiceView;
  /** Gateway pods (cluster source). */
  readonly pods?: readonly PodView[];
  /** The /status document (url source). */
  readonly status?: Readonly<Record<string, unknown>>;
  /** Where /status was read (url source). */
  readonly statusUrl?: string;
  /** Problems noticed while reading it (e.g. a config that does not validate). */
  readonly warnings: readonly string[];
}

export class SourceError extends Error {
  override name = 'SourceError';
}

/**
 * For a tool that terminates TLS (and so needs the server's key): one line per gateway naming
 * each TLS listener without its certificate and key and where to get them, or undefined when
 * every TLS listener has them. Only this gateway's problem: the others read fine.
 */
export function tlsMaterialMissing(v: GatewayView): string | undefined {
  const missing = v.listeners.filter((l) => {
    const c = v.config.listeners.find((x) => x.name === l.fullName);
    return l.tls !== undefined && (!c?.cert || !c.key);
  });
  if (missing.length === 0) return undefined;
  const why = missing.map((l) => {
    const t = l.tls!;
    return t.kind === 'secret'
      ? `listener ${l.name}: its certificate and key are injected at start from Secret ${t.secret} (kubernetes.io/tls); pass that Secret with --secret-file`
      : `listener ${l.name}: no certificate and key in the config, and no Secret named for them`;
  });
  return `gateway ${v.namespace}/${v.name}: ${why.join('; ')}`;
}

/** One line: where a gateway's credentials come from. */
export function describeCredentials(v: GatewayView): string {
  const c = v.credentials;
  switch (c.kind) {
    case 'inline':
      return c.secret ? `inline (Secret ${c.secret} in the YAML)` : 'inline (in the config)';
    case 'secret': {
      const what = `Secret ${c.secret}${c.backedBy ? ` (from ${c.backedBy} ${c.secret})` : ''}`;
      if (c.readFrom === 'secret-file') return `from ${what} (read from --secret-file)`;
      if (c.readFrom === 'cluster') return `from ${what} (read from the cluster)`;
      return `from ${what}${c.unreadable ? ` (not readable: ${c.unreadable})` : ''}`;
    }
    case 'hidden':
      return 'not served by /status';
    case 'none':
      return 'none';
  }
}
