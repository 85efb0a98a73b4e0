/**
 * `stunnerctl import`, step two: STUNner's objects into plans of this package's constructs. A
 * Gateway becomes a StunnerGateway plan (GatewayConfig auth, Gateway annotations, addresses and
 * listeners), a UDPRoute a MediaRoute plan (parents, Service and StaticService backends); what has
 * no equivalent is reported with the reason, in input order. No code is written here (emit.ts).
 */
import { listenerProtocolOf } from '../../../contract/config/index.js';
import { DEFAULT_PORT } from '../../../contract/defaults.js';
import { StunnerApi } from '../../../contract/labels.js';
import type {
  AuthPlan,
  BackendPlan,
  GatewayPlan,
  ImportInput,
  Listener,
  Obj,
  Ports,
  Report,
  RoutePlan,
} from './model.js';

/** The gateways that could be mapped, in input order. */
export function mapGateways(input: ImportInput, report: Report): GatewayPlan[] {
  const plans: GatewayPlan[] = [];
  for (const gw of input.gateways) {
    const plan = mapGateway(gw, input, report);
    if (plan !== undefined) plans.push(plan);
  }
  return plans;
}

function mapGateway(gw: Obj, input: ImportInput, report: Report): GatewayPlan | undefined {
  const { unmapped, notes } = report;
  const ns = gw.metadata?.namespace ?? 'default';
  const name = gw.metadata!.name!;
  const what = `Gateway ${ns}/${name}`;
  const spec = gw.spec ?? {};
  const className = String(spec.gatewayClassName ?? '');
  const cls = input.classes.get(className);
  if (cls && String(cls.spec?.controllerName ?? '') !== StunnerApi.GATEWAY_CONTROLLER) {
    unmapped.push({
      what,
      reason: `GatewayClass ${className} belongs to controller ${String(cls.spec?.controllerName)}, not STUNner's`,
    });
    return undefined;
  }
  let gwConfig: Obj | undefined;
  if (!cls)
    notes.push(
      `${what}: GatewayClass "${className}" is not in the input; STUNner's GatewayConfig defaults are used`,
    );
  else {
    const ref = (cls.spec?.parametersRef ?? {}) as Record<string, unknown>;
    const key = `${String(ref.namespace ?? 'default')}/${String(ref.name ?? '')}`;
    gwConfig = input.configs.get(key);
    if (!gwConfig) notes.push(`${what}: GatewayConfig ${key} is not in the input; its defaults are used`);
  }
  const cfg = (gwConfig?.spec ?? {}) as Record<string, unknown>;
  const auth = authOf(cfg, gwConfig, input.secrets, ns, what, report);
  if (auth === undefined) return undefined;
  const props: Record<string, unknown> = { name, namespace: ns };
  if (typeof cfg.realm === 'string' && cfg.realm !== 'stunner.l7mp.io') props.realm = cfg.realm;
  if (typeof cfg.logLevel === 'string') props.logLevel = cfg.logLevel;
  mapDataplane(cfg, input, props, what, report);
  const { nodePorts, targetPorts } = mapAnnotations(gw, cfg, props, what, report);
  mapAddresses(spec, props, what, report);
  const listeners = mapListeners(spec, ns, what, nodePorts, targetPorts, report);
  for (const k of Object.keys(nodePorts))
    if (!listeners.some((l) => l.name === k))
      notes.push(`${what}: nodeport annotation names no listener "${k}"`);
  if (listeners.length === 0) {
    unmapped.push({ what, reason: 'no listener could be mapped' });
    return undefined;
  }
  return { ns, name, props, auth, listeners };
}

/** Dataplane fields with a StunnerGateway prop of the same meaning. */
const DATAPLANE_PROPS: Readonly<Record<string, string>> = {
  replicas: 'replicas',
  resources: 'resources',
  terminationGracePeriodSeconds: 'terminationGracePeriodSeconds',
  affinity: 'affinity',
  tolerations: 'tolerations',
  topologySpreadConstraints: 'topologySpreadConstraints',
  imagePullPolicy: 'imagePullPolicy',
  enableMetricsEndpoint: 'metrics',
};

/** Dataplane fields without one, and why. */
const DATAPLANE_UNMAPPED: Readonly<Record<string, string>> = {
  image: "the gateway runs this package's runtime on a stock Node.js image (the runtime prop chooses how)",
  command: "the runtime's command is the construct's",
  args: "the runtime's arguments are the construct's (logLevel, relayThreads, ... as props)",
  env: "the runtime's environment is the construct's",
  imagePullSecrets: 'no prop; the default image is public',
  securityContext: 'the construct sets a restricted pod security context (podSecurity)',
  containerSecurityContext: 'the construct sets a restricted container security context',
  hostNetwork: 'no prop: the gateway runs in the pod network behind its Service',
  disableHealthCheck: 'health checks are always on (healthPort)',
  offloadEngine: "STUNner's eBPF/XDP offload has no equivalent in this runtime",
  labels: 'no prop for pod labels of the dataplane',
  annotations: 'no prop for pod annotations of the dataplane',
};

/** The GatewayConfig's Dataplane (`spec.dataplane`, default "default") into StunnerGateway props. */
function mapDataplane(
  cfg: Record<string, unknown>,
  input: ImportInput,
  props: Record<string, unknown>,
  what: string,
  { unmapped, notes }: Report,
): void {
  const name = typeof cfg.dataplane === 'string' && cfg.dataplane !== '' ? cfg.dataplane : 'default';
  const dp = input.dataplanes.get(name);
  if (dp === undefined) {
    if (cfg.dataplane !== undefined)
      notes.push(`${what}: Dataplane ${name} is not in the input; the construct's defaults are used`);
    return;
  }
  for (const [k, v] of Object.entries(dp.spec ?? {})) {
    if (v === undefined || v === null) continue;
    const prop = DATAPLANE_PROPS[k];
    if (prop !== undefined) props[prop] = v;
    else
      unmapped.push({
        what: `Dataplane ${name} ${k} (for ${what})`,
        reason: DATAPLANE_UNMAPPED[k] ?? 'no StunnerGateway prop of the same meaning',
      });
  }
}

/** STUNner's Gateway annotations into Service props; the port maps are for the listeners. */
function mapAnnotations(
  gw: Obj,
  cfg: Record<string, unknown>,
  props: Record<string, unknown>,
  what: string,
  { unmapped, notes }: Report,
): { nodePorts: Record<string, number>; targetPorts: Record<string, number> } {
  const ann = gw.metadata?.annotations ?? {};
  const svcAnnotations: Record<string, string> = {};
  const cfgAnn = cfg.loadBalancerServiceAnnotations;
  if (cfgAnn && typeof cfgAnn === 'object') Object.assign(svcAnnotations, cfgAnn);
  let nodePorts: Record<string, number> = {};
  let targetPorts: Record<string, number> = {};
  for (const [k, v] of Object.entries(ann)) {
    if (!k.startsWith(StunnerApi.ANNOTATION_PREFIX)) {
      if (!k.startsWith('kubectl.kubernetes.io/')) svcAnnotations[k] = v;
      continue;
    }
    const a = k.slice(StunnerApi.ANNOTATION_PREFIX.length);
    if (a === 'service-type') {
      if (['LoadBalancer', 'NodePort', 'ClusterIP'].includes(v)) props.serviceType = v;
      else
        unmapped.push({
          what: `${what} annotation ${k}`,
          reason: `service type "${v}" is not LoadBalancer, NodePort or ClusterIP`,
        });
    } else if (a === 'enable-mixed-protocol-lb') props.mixedProtocolLoadBalancer = v.toLowerCase() === 'true';
    else if (a === 'external-traffic-policy') {
      if (v.toLowerCase() === 'local') props.externalTrafficPolicy = 'Local';
      else if (v.toLowerCase() === 'cluster') props.externalTrafficPolicy = 'Cluster';
      else unmapped.push({ what: `${what} annotation ${k}`, reason: `"${v}" is not local or cluster` });
    } else if (a === 'disable-session-affinity') {
      if (v.toLowerCase() === 'true') props.sessionAffinity = 'None';
    } else if (a === 'nodeport' || a === 'targetport') {
      const parsed = portMap(v);
      if (!parsed)
        unmapped.push({ what: `${what} annotation ${k}`, reason: 'not a JSON map of listener name to port' });
      else if (a === 'nodeport') nodePorts = parsed;
      else targetPorts = parsed;
    } else if (a === 'enable-relay-to-cluster-ip') {
      notes.push(`${what}: ${k} has no equivalent; Service backends already admit the ClusterIP`);
    } else
      unmapped.push({
        what: `${what} annotation ${k}`,
        reason: 'not a STUNner Gateway annotation this import knows',
      });
  }
  if (Object.keys(svcAnnotations).length > 0) props.serviceAnnotations = svcAnnotations;
  return { nodePorts, targetPorts };
}

/** spec.addresses: the first one is the public address. */
function mapAddresses(
  spec: Record<string, unknown>,
  props: Record<string, unknown>,
  what: string,
  report: Report,
) {
  const addrs = Array.isArray(spec.addresses) ? (spec.addresses as Record<string, unknown>[]) : [];
  if (addrs.length === 0) return;
  const a = addrs[0]!;
  const type = String(a.type ?? 'IPAddress');
  if (type === 'IPAddress' || type === 'Hostname') props.publicAddress = String(a.value);
  else
    report.unmapped.push({
      what: `${what} spec.addresses`,
      reason: `address type ${type} has no equivalent`,
    });
  if (addrs.length > 1)
    report.unmapped.push({ what: `${what} spec.addresses`, reason: 'only the first address is advertised' });
}

function mapListeners(
  spec: Record<string, unknown>,
  ns: string,
  what: string,
  nodePorts: Record<string, number>,
  targetPorts: Record<string, number>,
  { unmapped }: Report,
): Listener[] {
  const listeners: Listener[] = [];
  for (const raw of (Array.isArray(spec.listeners) ? spec.listeners : []) as Record<string, unknown>[]) {
    const lname = String(raw.name ?? '');
    const lwhat = `${what} listener ${lname}`;
    const proto = listenerProtocolOf(String(raw.protocol ?? ''));
    if (proto === 'TURN-DTLS') {
      unmapped.push({ what: lwhat, reason: 'TURN-DTLS is not supported by this runtime' });
      continue;
    }
    if (proto === undefined) {
      unmapped.push({
        what: lwhat,
        reason: `protocol "${String(raw.protocol)}" is not TURN-UDP, TURN-TCP or TURN-TLS`,
      });
      continue;
    }
    const l: Listener = { name: lname, protocol: proto, port: Number(raw.port ?? DEFAULT_PORT) };
    if (targetPorts[lname] !== undefined) l.targetPort = targetPorts[lname];
    if (nodePorts[lname] !== undefined) l.nodePort = nodePorts[lname];
    if (proto === 'TURN-TLS') {
      const tls = (raw.tls ?? {}) as Record<string, unknown>;
      const refs = Array.isArray(tls.certificateRefs)
        ? (tls.certificateRefs as Record<string, unknown>[])
        : [];
      const ref = refs[0];
      if (!ref?.name) {
        unmapped.push({ what: lwhat, reason: 'TURN-TLS without tls.certificateRefs' });
        continue;
      }
      if (ref.namespace !== undefined && ref.namespace !== ns) {
        unmapped.push({
          what: lwhat,
          reason: `certificate Secret in another namespace (${String(ref.namespace)})`,
        });
        continue;
      }
      l.tlsSecret = String(ref.name);
    }
    listeners.push(l);
  }
  return listeners;
}

/** The GatewayConfig's auth: a referenced Secret, or inline credentials (noted: move them to a Secret). */
function authOf(
  cfg: Record<string, unknown>,
  gwConfig: Obj | undefined,
  secrets: ReadonlyMap<string, Obj>,
  gwNs: string,
  what: string,
  { unmapped, notes }: Report,
): AuthPlan | undefined {
  let type = String(cfg.authType ?? 'static').toLowerCase();
  if (type === 'plaintext') type = 'static';
  if (type === 'longterm' || type === 'timewindowed') type = 'ephemeral';
  const ref = cfg.authRef as Record<string, unknown> | undefined;
  if (ref?.name) {
    const refNs = String(ref.namespace ?? gwConfig?.metadata?.namespace ?? gwNs);
    const name = String(ref.name);
    if (refNs !== gwNs) {
      unmapped.push({
        what,
        reason: `auth Secret ${refNs}/${name} is in another namespace than the gateway; a pod mounts only its own namespace's Secrets (copy it to ${gwNs})`,
      });
      return undefined;
    }
    const secret = secrets.get(`${refNs}/${name}`);
    if (secret) {
      const t = secretValue(secret, 'type')?.toLowerCase();
      if (t === 'ephemeral' || t === 'longterm' || t === 'timewindowed') type = 'ephemeral';
      else if (t === 'static' || t === 'plaintext') type = 'static';
      notes.push(
        `${what}: Secret ${refNs}/${name} is referenced, not copied into the chart; keep it out of git (SealedSecret or ExternalSecret)`,
      );
    }
    return type === 'ephemeral' ? { kind: 'ephemeral', secret: name } : { kind: 'fromSecret', secret: name };
  }
  if (type === 'ephemeral') {
    if (typeof cfg.sharedSecret !== 'string' || cfg.sharedSecret === '') {
      unmapped.push({ what, reason: 'ephemeral auth without sharedSecret or authRef' });
      return undefined;
    }
    notes.push(
      `${what}: the shared secret is inline in the chart (TurnAuth.inlineEphemeral); move it to a Secret`,
    );
    return { kind: 'inlineEphemeral', sharedSecret: cfg.sharedSecret };
  }
  if (type !== 'static') {
    unmapped.push({ what, reason: `auth type "${type}" is not static or ephemeral` });
    return undefined;
  }
  if (typeof cfg.userName !== 'string' || typeof cfg.password !== 'string') {
    unmapped.push({ what, reason: 'static auth without userName/password or authRef' });
    return undefined;
  }
  notes.push(
    `${what}: the username and password are inline in the chart (TurnAuth.inline); move them to a Secret`,
  );
  return { kind: 'inline', username: cfg.userName, password: cfg.password };
}

/** The routes whose parents and backends could be mapped, in input order. */
export function mapRoutes(input: ImportInput, plans: readonly GatewayPlan[], report: Report): RoutePlan[] {
  const routePlans: RoutePlan[] = [];
  for (const r of input.routes) {
    const plan = mapRoute(r, input, plans, report);
    if (plan !== undefined) routePlans.push(plan);
  }
  return routePlans;
}

function mapRoute(
  r: Obj,
  input: ImportInput,
  plans: readonly GatewayPlan[],
  report: Report,
): RoutePlan | undefined {
  const { unmapped, notes } = report;
  const ns = r.metadata?.namespace ?? 'default';
  const name = r.metadata!.name!;
  const what = `UDPRoute ${ns}/${name}`;
  const spec = r.spec ?? {};
  const parents: RoutePlan['parents'][number][] = [];
  for (const p of (Array.isArray(spec.parentRefs) ? spec.parentRefs : []) as Record<string, unknown>[]) {
    const pns = String(p.namespace ?? ns);
    const pname = String(p.name ?? '');
    if (p.kind !== undefined && p.kind !== 'Gateway') {
      unmapped.push({ what, reason: `parent ${String(p.kind)} ${pns}/${pname} is not a Gateway` });
      continue;
    }
    const plan = plans.find((g) => g.ns === pns && g.name === pname);
    if (!plan) {
      const known = input.gateways.some(
        (g) => (g.metadata?.namespace ?? 'default') === pns && g.metadata?.name === pname,
      );
      unmapped.push({
        what,
        reason: known
          ? `parent Gateway ${pns}/${pname} could not be mapped`
          : `parent Gateway ${pns}/${pname} is not in the input`,
      });
      continue;
    }
    const section = p.sectionName === undefined ? undefined : String(p.sectionName);
    if (section !== undefined && !plan.listeners.some((l) => l.name === section)) {
      unmapped.push({ what, reason: `parent ${pns}/${pname} has no mapped listener "${section}"` });
      continue;
    }
    parents.push(section === undefined ? { gateway: plan } : { gateway: plan, listener: section });
  }
  if (parents.length === 0) {
    unmapped.push({ what, reason: 'no parent Gateway could be mapped' });
    return undefined;
  }
  let headless = false;
  const backends: BackendPlan[] = [];
  const rules = (Array.isArray(spec.rules) ? spec.rules : []) as Record<string, unknown>[];
  for (const rule of rules) {
    for (const b of (Array.isArray(rule.backendRefs) ? rule.backendRefs : []) as Record<string, unknown>[]) {
      const bg = String(b.group ?? '');
      const bk = String(b.kind ?? 'Service');
      const bns = String(b.namespace ?? ns);
      const bname = String(b.name ?? '');
      const ports = portsOf(b);
      if ((bg === '' || bg === 'core') && bk === 'Service') {
        if (plans.some((g) => g.ns === bns && g.name === bname)) {
          headless = true;
          if (ports)
            notes.push(
              `${what}: the port range of gateway backend ${bns}/${bname} is dropped (headless routes relay between clients)`,
            );
          continue;
        }
        backends.push({ kind: 'service', name: bname, namespace: bns, ...(ports && { ports }) });
      } else if (bg === StunnerApi.GROUP && bk === 'StaticService') {
        const s = input.statics.get(`${bns}/${bname}`);
        const prefixes = Array.isArray(s?.spec?.prefixes)
          ? (s!.spec!.prefixes as unknown[]).map(String)
          : undefined;
        if (!prefixes || prefixes.length === 0) {
          unmapped.push({
            what,
            reason: `backend StaticService ${bns}/${bname} is ${s ? 'empty' : 'not in the input'}`,
          });
          continue;
        }
        backends.push({ kind: 'cidrs', prefixes, ...(ports && { ports }) });
      } else
        unmapped.push({
          what,
          reason: `backend ${bg ? `${bg}/` : ''}${bk} ${bns}/${bname} has no equivalent`,
        });
    }
  }
  if (!headless && backends.length === 0) {
    unmapped.push({ what, reason: 'no backend could be mapped' });
    return undefined;
  }
  return { ns, name, parents, headless, backends };
}

function secretValue(s: Obj, k: string): string | undefined {
  const sd = s.stringData?.[k];
  if (typeof sd === 'string') return sd;
  const d = s.data?.[k];
  return typeof d === 'string' ? Buffer.from(d, 'base64').toString() : undefined;
}

function portMap(v: string): Record<string, number> | undefined {
  try {
    const o = JSON.parse(v) as unknown;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
    const out: Record<string, number> = {};
    for (const [k, n] of Object.entries(o)) {
      if (typeof n !== 'number' || !Number.isInteger(n)) return undefined;
      out[k] = n;
    }
    return out;
  } catch {
    return undefined;
  }
}

function portsOf(b: Record<string, unknown>): Ports | undefined {
  const port = typeof b.port === 'number' ? b.port : undefined;
  const endPort = typeof b.endPort === 'number' ? b.endPort : undefined;
  if (port === undefined && endPort === undefined) return undefined;
  return { ...(port !== undefined && { port }), ...(endPort !== undefined && { endPort }) };
}
