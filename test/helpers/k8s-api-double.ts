/**
 * TEST DOUBLE of the Kubernetes API server. NOT a real API server.
 *
 * A small node:http server that speaks just enough of the list/watch protocol for the in-pod
 * watchers and the CLI: EndpointSlices (discovery.k8s.io/v1), Services, Nodes, ConfigMaps, Secrets
 * and Pods (core/v1). Lists return a
 * resourceVersion; `?watch=true&resourceVersion=N` replays the events after N and then streams new
 * ones as chunked, newline-delimited JSON watch events; a watch without a resourceVersion (or with
 * 0) first sends the current objects as ADDED, as the apiserver does. A resourceVersion it no
 * longer holds gets an ERROR event with 410 Gone (reason Expired), as the apiserver's watch cache
 * answers one older than its window (after an apiserver restart, say). It checks the bearer
 * token, and can simulate an outage (every open connection is cut and new ones are reset) to test
 * reconnect behaviour. What of this the real apiserver also does, and which cluster test shows
 * it: docs/testing-kubernetes.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Kind = 'endpointslices' | 'services' | 'nodes' | 'configmaps' | 'secrets' | 'pods';

export interface K8sObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
  [field: string]: unknown;
}

interface WatchEvent {
  readonly rv: number;
  readonly kind: Kind;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: K8sObject;
}

interface OpenWatch {
  readonly kind: Kind;
  readonly namespace: string | undefined;
  readonly match: (o: K8sObject) => boolean;
  readonly res: ServerResponse;
}

const API: Record<Kind, { apiVersion: string; kind: string }> = {
  endpointslices: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
  services: { apiVersion: 'v1', kind: 'Service' },
  nodes: { apiVersion: 'v1', kind: 'Node' },
  configmaps: { apiVersion: 'v1', kind: 'ConfigMap' },
  secrets: { apiVersion: 'v1', kind: 'Secret' },
  pods: { apiVersion: 'v1', kind: 'Pod' },
};

export class K8sApiDouble {
  readonly token: string;
  /** Paths (with query) of every request served, for assertions. */
  readonly requests: string[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly objects = new Map<string, { kind: Kind; obj: K8sObject }>();
  private readonly events: WatchEvent[] = [];
  private readonly watches = new Set<OpenWatch>();
  private rv = 100;
  /** Events before this resourceVersion are forgotten (410 Gone on watch). */
  private compactedBefore = 0;
  private down = false;
  /** Kinds for which requests are answered 403 Forbidden (RBAC simulation). */
  readonly forbidden = new Set<Kind>();
  url = '';

  constructor(opts: { token?: string } = {}) {
    this.token = opts.token ?? 'test-double-token';
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      if (this.down) {
        s.destroy();
        return;
      }
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    this.server = server;
    this.url = `http://127.0.0.1:${addr.port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Outage on: every connection is cut, new ones are reset. Off: the API answers again. */
  setOutage(on: boolean): void {
    this.down = on;
    if (on) {
      for (const w of this.watches) w.res.destroy();
      this.watches.clear();
      for (const s of this.sockets) s.destroy();
    }
  }

  /** Ends every open watch cleanly, as the API server does when a watch times out. */
  endWatches(): void {
    for (const w of this.watches) w.res.end();
    this.watches.clear();
  }

  /** Forget the event history, so that a watch from an old resourceVersion gets 410 Gone. */
  compact(): void {
    this.rv++; // as if unseen writes happened and were compacted away
    this.compactedBefore = this.rv + 1;
    this.events.length = 0;
  }

  openWatches(kind?: Kind): number {
    let n = 0;
    for (const w of this.watches) if (kind === undefined || w.kind === kind) n++;
    return n;
  }

  upsert(kind: Kind, obj: K8sObject): void {
    const key = objKey(kind, obj.metadata.namespace, obj.metadata.name);
    const existed = this.objects.has(key);
    const rv = ++this.rv;
    const stored: K8sObject = {
      ...API[kind],
      ...obj,
      metadata: { ...obj.metadata, resourceVersion: String(rv) },
    };
    this.objects.set(key, { kind, obj: stored });
    this.emit({ rv, kind, type: existed ? 'MODIFIED' : 'ADDED', object: stored });
  }

  remove(kind: Kind, namespace: string | undefined, name: string): void {
    const key = objKey(kind, namespace, name);
    const cur = this.objects.get(key);
    if (!cur) return;
    this.objects.delete(key);
    const rv = ++this.rv;
    this.emit({
      rv,
      kind,
      type: 'DELETED',
      object: { ...cur.obj, metadata: { ...cur.obj.metadata, resourceVersion: String(rv) } },
    });
  }

  private emit(ev: WatchEvent): void {
    this.events.push(ev);
    // a forgotten event makes the versions before it too old: 410, never a silent gap
    const dropped = this.events.length > 1000 ? this.events.shift() : undefined;
    if (dropped) this.compactedBefore = Math.max(this.compactedBefore, dropped.rv + 1);
    for (const w of this.watches) {
      if (w.kind === ev.kind && inNamespace(ev.object, w.namespace) && w.match(ev.object)) send(w.res, ev);
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.down) {
      req.socket.destroy();
      return;
    }
    this.requests.push(req.url ?? '');
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      status(res, 401, 'Unauthorized');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const route = parsePath(url.pathname);
    if (!route || req.method !== 'GET') {
      status(res, 404, 'NotFound');
      return;
    }
    if (this.forbidden.has(route.kind)) {
      status(res, 403, 'Forbidden');
      return;
    }
    const match = selector(url.searchParams);
    if (route.name !== undefined) {
      const cur = this.objects.get(objKey(route.kind, route.namespace, route.name));
      if (!cur) status(res, 404, 'NotFound');
      else json(res, 200, cur.obj);
      return;
    }
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
      this.watch(route.kind, route.namespace, match, url.searchParams, res);
      return;
    }
    const items = [...this.objects.values()]
      .filter((o) => o.kind === route.kind && inNamespace(o.obj, route.namespace) && match(o.obj))
      .map((o) => o.obj);
    json(res, 200, {
      apiVersion: API[route.kind].apiVersion,
      kind: `${API[route.kind].kind}List`,
      metadata: { resourceVersion: String(this.rv) },
      items,
    });
  }

  private watch(
    kind: Kind,
    namespace: string | undefined,
    match: (o: K8sObject) => boolean,
    q: URLSearchParams,
    res: ServerResponse,
  ): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const version = q.get('resourceVersion');
    if (version === null || version === '' || version === '0') {
      // "get state and start at most recent": the current objects, as the apiserver sends them
      for (const o of this.objects.values())
        if (o.kind === kind && inNamespace(o.obj, namespace) && match(o.obj))
          send(res, { rv: this.rv, kind, type: 'ADDED', object: o.obj });
    } else {
      const from = Number(version);
      if (from + 1 < this.compactedBefore) {
        res.end(
          `${JSON.stringify({
            type: 'ERROR',
            object: {
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Failure',
              message: `too old resource version: ${from} (${this.compactedBefore - 1})`,
              reason: 'Expired',
              code: 410,
            },
          })}\n`,
        );
        return;
      }
      for (const ev of this.events) {
        if (ev.rv > from && ev.kind === kind && inNamespace(ev.object, namespace) && match(ev.object)) {
          send(res, ev);
        }
      }
    }
    const w: OpenWatch = { kind, namespace, match, res };
    this.watches.add(w);
    res.on('close', () => this.watches.delete(w));
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    if (timeout > 0) {
      const t = setTimeout(() => res.end(), timeout * 1000);
      res.on('close', () => clearTimeout(t));
    }
  }
}

function objKey(kind: Kind, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

function inNamespace(o: K8sObject, ns: string | undefined): boolean {
  return ns === undefined || o.metadata.namespace === ns;
}

function send(res: ServerResponse, ev: WatchEvent): void {
  res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number, reason: string): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code, message: reason });
}

function parsePath(p: string): { kind: Kind; namespace?: string; name?: string } | undefined {
  let m = /^\/apis\/discovery\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?endpointslices(?:\/([^/]+))?$/.exec(p);
  if (m) return { kind: 'endpointslices', namespace: m[1], name: m[2] };
  m = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?(services|configmaps|secrets|pods)(?:\/([^/]+))?$/.exec(p);
  if (m) return { kind: m[2] as Kind, namespace: m[1], name: m[3] };
  m = /^\/api\/v1\/nodes(?:\/([^/]+))?$/.exec(p);
  if (m) return { kind: 'nodes', name: m[1] };
  return undefined;
}

/** Equality-based label and field selectors (`a=b,c=d`), which is all the watchers use. */
function selector(q: URLSearchParams): (o: K8sObject) => boolean {
  const labels = pairs(q.get('labelSelector'));
  const fields = pairs(q.get('fieldSelector'));
  return (o) => {
    for (const [k, v] of labels) if (o.metadata.labels?.[k] !== v) return false;
    for (const [k, v] of fields) {
      if (k === 'metadata.name' && o.metadata.name !== v) return false;
      if (k === 'metadata.namespace' && o.metadata.namespace !== v) return false;
    }
    return true;
  };
}

function pairs(s: string | null): [string, string][] {
  if (!s) return [];
  return s.split(',').map((p) => {
    const i = p.indexOf('=');
    return [
      p.slice(0, i).trim(),
      p
        .slice(i + 1)
        .replace(/^=/, '')
        .trim(),
    ];
  });
}

/** Helpers that build the objects the watchers read. */
export function endpointSlice(
  namespace: string,
  service: string,
  name: string,
  endpoints: readonly { ip: string; ready?: boolean }[],
): K8sObject {
  return {
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: e.ready === undefined ? {} : { ready: e.ready },
    })),
    ports: [{ name: 'media', port: 9000, protocol: 'UDP' }],
  };
}

export function service(
  namespace: string,
  name: string,
  spec: {
    clusterIP?: string;
    type?: string;
    ports?: { name?: string; port: number; protocol?: string; nodePort?: number }[];
    ingress?: { ip?: string; hostname?: string }[];
  },
): K8sObject {
  return {
    metadata: { name, namespace },
    spec: {
      type: spec.type ?? 'ClusterIP',
      clusterIP: spec.clusterIP ?? 'None',
      clusterIPs: spec.clusterIP && spec.clusterIP !== 'None' ? [spec.clusterIP] : undefined,
      ports: spec.ports ?? [{ port: 9000, protocol: 'UDP' }],
    },
    status: { loadBalancer: spec.ingress ? { ingress: spec.ingress } : {} },
  };
}

export function node(name: string, addresses: { type: string; address: string }[]): K8sObject {
  return { metadata: { name }, status: { addresses } };
}
