/**
 * `stunnerctl import <file>...`: STUNner's Gateway API objects in, a TypeScript cdk8s chart of this
 * package's constructs out. It reads GatewayClass and GatewayConfig (stunner.l7mp.io v1alpha1 and
 * v1), Gateway (gateway.networking.k8s.io v1, v1beta1, v1alpha2) with STUNner's Gateway annotations
 * and spec.addresses, UDPRoute (gateway.networking.k8s.io and stunner.l7mp.io, backend port and
 * endPort) and StaticService, and writes a chart whose synthesized dataplane configs carry the same
 * listeners, auth, routes and clusters as STUNner's operator renders for them (Service backends as
 * the constructs render them: a STRICT_DNS cluster on the Service's name, expanded to its ready pod
 * IPs by the in-pod watcher). The chart imports 'stunner-gitops'; this module imports no construct.
 *
 * importStunnerYaml(texts) -> { source, unmapped, notes }: `unmapped` lists every object or field
 * that has no equivalent, with the reason; the command exits 0 when everything mapped, 3 when some
 * did not, 1 on an error (unreadable YAML, no Gateway that could be mapped).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';

export const IMPORT_USAGE = `usage: stunnerctl import <file>... [-o <chart.ts>] [--chart-name <ClassName>]
  Reads STUNner's GatewayClass, GatewayConfig, Gateway, UDPRoute and StaticService objects and writes
  a TypeScript cdk8s chart using StunnerGateway, MediaRoute and TurnAuth from 'stunner-gitops'.
  Objects or fields that cannot be mapped are listed on stderr with the reason.
exit codes: 0 everything mapped, 3 some objects or fields not mapped, 1 error`;

const CONTROLLER = 'stunner.l7mp.io/gateway-operator';
const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const STUNNER_GROUP = 'stunner.l7mp.io';
const GATEWAY_VERSIONS = ['v1', 'v1beta1', 'v1alpha2'];
const ANN = 'stunner.l7mp.io/';

type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
};

export interface Unmapped {
  /** `Kind ns/name` or `Kind ns/name listener x`. */
  readonly what: string;
  readonly reason: string;
}

export interface ImportResult {
  /** The chart's TypeScript source. */
  readonly source: string;
  readonly unmapped: readonly Unmapped[];
  /** Things that mapped, but that a user should know (inline credentials, defaults taken). */
  readonly notes: readonly string[];
  /** `namespace/name` of the gateways and routes written. */
  readonly gateways: readonly string[];
  readonly routes: readonly string[];
}

export class ImportError extends Error {
  override name = 'ImportError';
}

interface Listener {
  name: string;
  protocol: string;
  port: number;
  targetPort?: number;
  nodePort?: number;
  tlsSecret?: string;
}

interface GatewayPlan {
  ns: string;
  name: string;
  varName: string;
  props: Record<string, unknown>;
  auth: string;
  listeners: Listener[];
}

interface RoutePlan {
  ns: string;
  name: string;
  parents: string[];
  headless: boolean;
  calls: string[];
}

export function importStunnerYaml(
  texts: readonly { name: string; text: string }[],
  chartName = 'ImportedChart',
): ImportResult {
  if (!/^[A-Z][A-Za-z0-9_]*$/.test(chartName))
    throw new ImportError(`--chart-name ${chartName}: not a TypeScript class name`);
  const objs: Obj[] = [];
  for (const t of texts) {
    for (const d of parseAllDocuments(t.text)) {
      if (d.errors.length > 0) {
        const pos = d.errors[0]!.linePos?.[0];
        throw new ImportError(
          `${t.name}${pos ? `:${pos.line}` : ''}: ${d.errors[0]!.message.split('\n')[0]}`,
        );
      }
      const v = d.toJS() as unknown;
      if (v === null || v === undefined) continue;
      if (typeof v !== 'object' || Array.isArray(v))
        throw new ImportError(`${t.name}: a document is not an object`);
      const o = v as Obj & { items?: Obj[] };
      if (o.kind === 'List' && Array.isArray(o.items)) objs.push(...o.items);
      else objs.push(o);
    }
  }
  const unmapped: Unmapped[] = [];
  const notes: string[] = [];
  const id = (o: Obj, nsDefault = true) =>
    `${o.kind ?? '(no kind)'} ${nsDefault ? `${o.metadata?.namespace ?? 'default'}/` : ''}${o.metadata?.name ?? '(no name)'}`;
  const group = (o: Obj) => (o.apiVersion ?? '').split('/')[0] ?? '';
  const version = (o: Obj) => (o.apiVersion ?? '').split('/')[1] ?? '';

  const classes = new Map<string, Obj>();
  const configs = new Map<string, Obj>();
  const gateways: Obj[] = [];
  const routes: Obj[] = [];
  const statics = new Map<string, Obj>();
  const secrets = new Map<string, Obj>();
  for (const o of objs) {
    const g = group(o);
    const ns = o.metadata?.namespace ?? 'default';
    const name = o.metadata?.name;
    if (!name) {
      unmapped.push({ what: `${o.kind ?? '(no kind)'} (no name)`, reason: 'metadata.name is missing' });
      continue;
    }
    if (o.kind === 'GatewayClass' && g === GATEWAY_GROUP) classes.set(name, o);
    else if (o.kind === 'GatewayConfig' && g === STUNNER_GROUP && ['v1', 'v1alpha1'].includes(version(o)))
      configs.set(`${ns}/${name}`, o);
    else if (o.kind === 'Gateway' && g === GATEWAY_GROUP && GATEWAY_VERSIONS.includes(version(o)))
      gateways.push(o);
    else if (o.kind === 'UDPRoute' && (g === GATEWAY_GROUP || g === STUNNER_GROUP)) routes.push(o);
    else if (o.kind === 'StaticService' && g === STUNNER_GROUP) statics.set(`${ns}/${name}`, o);
    else if (o.kind === 'Secret' && (o.apiVersion === 'v1' || o.apiVersion === undefined))
      secrets.set(`${ns}/${name}`, o);
    else if (o.kind === 'Namespace')
      notes.push(
        `${id(o, false)}: gateways are imported with createNamespace: false (create the namespace in your app)`,
      );
    else
      unmapped.push({
        what: `${o.kind ?? '(no kind)'} ${ns}/${name}`,
        reason:
          `unknown kind ${o.apiVersion ?? '(no apiVersion)'} ${o.kind ?? ''}: import reads GatewayClass, GatewayConfig, Gateway, UDPRoute and StaticService`.trim(),
      });
  }

  // ---- gateways
  const plans: GatewayPlan[] = [];
  const usedVars = new Set<string>();
  const varFor = (ns: string, name: string): string => {
    const base = camel(`${ns}-${name}`);
    let v = base;
    for (let i = 2; usedVars.has(v); i++) v = `${base}${i}`;
    usedVars.add(v);
    return v;
  };
  for (const gw of gateways) {
    const ns = gw.metadata?.namespace ?? 'default';
    const name = gw.metadata!.name!;
    const what = `Gateway ${ns}/${name}`;
    const spec = gw.spec ?? {};
    const className = String(spec.gatewayClassName ?? '');
    const cls = classes.get(className);
    if (cls && String(cls.spec?.controllerName ?? '') !== CONTROLLER) {
      unmapped.push({
        what,
        reason: `GatewayClass ${className} belongs to controller ${String(cls.spec?.controllerName)}, not STUNner's`,
      });
      continue;
    }
    let gwConfig: Obj | undefined;
    if (!cls)
      notes.push(
        `${what}: GatewayClass "${className}" is not in the input; STUNner's GatewayConfig defaults are used`,
      );
    else {
      const ref = (cls.spec?.parametersRef ?? {}) as Record<string, unknown>;
      const key = `${String(ref.namespace ?? 'default')}/${String(ref.name ?? '')}`;
      gwConfig = configs.get(key);
      if (!gwConfig) notes.push(`${what}: GatewayConfig ${key} is not in the input; its defaults are used`);
    }
    const cfg = (gwConfig?.spec ?? {}) as Record<string, unknown>;
    const auth = authOf(cfg, gwConfig, secrets, ns, what, notes, unmapped);
    if (auth === undefined) continue;
    const props: Record<string, unknown> = { name, namespace: ns };
    if (typeof cfg.realm === 'string' && cfg.realm !== 'stunner.l7mp.io') props.realm = cfg.realm;
    if (typeof cfg.logLevel === 'string') props.logLevel = cfg.logLevel;
    const ann = gw.metadata?.annotations ?? {};
    const svcAnnotations: Record<string, string> = {};
    const cfgAnn = cfg.loadBalancerServiceAnnotations;
    if (cfgAnn && typeof cfgAnn === 'object') Object.assign(svcAnnotations, cfgAnn);
    let nodePorts: Record<string, number> = {};
    let targetPorts: Record<string, number> = {};
    for (const [k, v] of Object.entries(ann)) {
      if (!k.startsWith(ANN)) {
        if (!k.startsWith('kubectl.kubernetes.io/')) svcAnnotations[k] = v;
        continue;
      }
      const a = k.slice(ANN.length);
      if (a === 'service-type') {
        if (['LoadBalancer', 'NodePort', 'ClusterIP'].includes(v)) props.serviceType = v;
        else
          unmapped.push({
            what: `${what} annotation ${k}`,
            reason: `service type "${v}" is not LoadBalancer, NodePort or ClusterIP`,
          });
      } else if (a === 'enable-mixed-protocol-lb')
        props.mixedProtocolLoadBalancer = v.toLowerCase() === 'true';
      else if (a === 'external-traffic-policy') {
        if (v.toLowerCase() === 'local') props.externalTrafficPolicy = 'Local';
        else if (v.toLowerCase() === 'cluster') props.externalTrafficPolicy = 'Cluster';
        else unmapped.push({ what: `${what} annotation ${k}`, reason: `"${v}" is not local or cluster` });
      } else if (a === 'disable-session-affinity') {
        if (v.toLowerCase() === 'true') props.sessionAffinity = 'None';
      } else if (a === 'nodeport' || a === 'targetport') {
        const parsed = portMap(v);
        if (!parsed)
          unmapped.push({
            what: `${what} annotation ${k}`,
            reason: 'not a JSON map of listener name to port',
          });
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
    const addrs = Array.isArray(spec.addresses) ? (spec.addresses as Record<string, unknown>[]) : [];
    if (addrs.length > 0) {
      const a = addrs[0]!;
      const type = String(a.type ?? 'IPAddress');
      if (type === 'IPAddress' || type === 'Hostname') props.publicAddress = String(a.value);
      else
        unmapped.push({ what: `${what} spec.addresses`, reason: `address type ${type} has no equivalent` });
      if (addrs.length > 1)
        unmapped.push({ what: `${what} spec.addresses`, reason: 'only the first address is advertised' });
    }
    const listeners: Listener[] = [];
    for (const raw of (Array.isArray(spec.listeners) ? spec.listeners : []) as Record<string, unknown>[]) {
      const lname = String(raw.name ?? '');
      const lwhat = `${what} listener ${lname}`;
      const proto = normalizeProtocol(String(raw.protocol ?? ''));
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
      const l: Listener = { name: lname, protocol: proto, port: Number(raw.port ?? 3478) };
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
    for (const k of Object.keys(nodePorts))
      if (!listeners.some((l) => l.name === k))
        notes.push(`${what}: nodeport annotation names no listener "${k}"`);
    if (listeners.length === 0) {
      unmapped.push({ what, reason: 'no listener could be mapped' });
      continue;
    }
    plans.push({ ns, name, varName: varFor(ns, name), props, auth, listeners });
  }

  // ---- routes
  const routePlans: RoutePlan[] = [];
  for (const r of routes) {
    const ns = r.metadata?.namespace ?? 'default';
    const name = r.metadata!.name!;
    const what = `UDPRoute ${ns}/${name}`;
    const spec = r.spec ?? {};
    const parents: string[] = [];
    for (const p of (Array.isArray(spec.parentRefs) ? spec.parentRefs : []) as Record<string, unknown>[]) {
      const pns = String(p.namespace ?? ns);
      const pname = String(p.name ?? '');
      if (p.kind !== undefined && p.kind !== 'Gateway') {
        unmapped.push({ what, reason: `parent ${String(p.kind)} ${pns}/${pname} is not a Gateway` });
        continue;
      }
      const plan = plans.find((g) => g.ns === pns && g.name === pname);
      if (!plan) {
        const known = gateways.some(
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
      parents.push(
        section === undefined ? plan.varName : `{ gateway: ${plan.varName}, listener: ${tsString(section)} }`,
      );
    }
    if (parents.length === 0) {
      unmapped.push({ what, reason: 'no parent Gateway could be mapped' });
      continue;
    }
    let headless = false;
    const calls: string[] = [];
    const rules = (Array.isArray(spec.rules) ? spec.rules : []) as Record<string, unknown>[];
    for (const rule of rules) {
      for (const b of (Array.isArray(rule.backendRefs) ? rule.backendRefs : []) as Record<
        string,
        unknown
      >[]) {
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
          calls.push(`.addService(${ts({ name: bname, namespace: bns })}${ports ? `, ${ts(ports)}` : ''})`);
        } else if (bg === STUNNER_GROUP && bk === 'StaticService') {
          const s = statics.get(`${bns}/${bname}`);
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
          calls.push(`.addCidrs(${ts(prefixes)}${ports ? `, ${ts(ports)}` : ''})`);
        } else
          unmapped.push({
            what,
            reason: `backend ${bg ? `${bg}/` : ''}${bk} ${bns}/${bname} has no equivalent`,
          });
      }
    }
    if (!headless && calls.length === 0) {
      unmapped.push({ what, reason: 'no backend could be mapped' });
      continue;
    }
    routePlans.push({ ns, name, parents, headless, calls });
  }

  if (plans.length === 0) {
    const why = unmapped.length > 0 ? `: ${unmapped.map((u) => `${u.what}: ${u.reason}`).join('; ')}` : '';
    throw new ImportError(`no Gateway could be mapped${why}`);
  }

  // ---- the chart
  const files = texts.map((t) => tsString(t.name)).join(', ');
  const out: string[] = [
    `// Generated by \`stunnerctl import\` from ${files}.`,
    '// STUNner Gateway API objects as constructs of stunner-gitops: edit freely, then synthesize.',
    "import { Chart, type ChartProps } from 'cdk8s';",
    "import type { Construct } from 'constructs';",
    `import { ${routePlans.length > 0 ? 'MediaRoute, ' : ''}StunnerGateway, TurnAuth } from 'stunner-gitops';`,
    '',
    `export class ${chartName} extends Chart {`,
    '  constructor(scope: Construct, id: string, props: ChartProps = {}) {',
    '    super(scope, id, props);',
  ];
  for (const g of plans) {
    const listeners = g.listeners.map((l) => ts(l)).join(', ');
    const entries = Object.entries(g.props).map(([k, v]) => `      ${k}: ${ts(v)},`);
    out.push(
      `    const ${g.varName} = new StunnerGateway(this, ${tsString(`${g.ns}-${g.name}`)}, {`,
      ...entries,
      `      auth: ${g.auth},`,
      ...(g.auth.startsWith('TurnAuth.inline')
        ? [
            '      // copied from the GatewayConfig: STUNner does not check inline credentials; move them to a Secret',
          ]
        : []),
      ...(g.auth.startsWith('TurnAuth.inline') ? ['      allowWeakCredentials: true,'] : []),
      `      listeners: [${listeners}],`,
      '    });',
    );
  }
  if (plans.length > 0) out.push(`    void [${plans.map((p) => p.varName).join(', ')}];`);
  for (const r of routePlans) {
    const head = `    new MediaRoute(this, ${tsString(`${r.ns}-${r.name}`)}, { name: ${tsString(r.name)}, namespace: ${tsString(r.ns)}, parents: [${r.parents.join(', ')}]${r.headless ? ', headless: true' : ''} })`;
    out.push(r.calls.length > 0 ? `${head}\n      ${r.calls.join('\n      ')};` : `${head};`);
  }
  out.push('  }', '}', '');
  return {
    source: out.join('\n'),
    unmapped,
    notes,
    gateways: plans.map((p) => `${p.ns}/${p.name}`),
    routes: routePlans.map((r) => `${r.ns}/${r.name}`),
  };
}

function authOf(
  cfg: Record<string, unknown>,
  gwConfig: Obj | undefined,
  secrets: Map<string, Obj>,
  gwNs: string,
  what: string,
  notes: string[],
  unmapped: Unmapped[],
): string | undefined {
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
    return type === 'ephemeral'
      ? `TurnAuth.ephemeral(${tsString(name)})`
      : `TurnAuth.fromSecret(${tsString(name)})`;
  }
  if (type === 'ephemeral') {
    if (typeof cfg.sharedSecret !== 'string' || cfg.sharedSecret === '') {
      unmapped.push({ what, reason: 'ephemeral auth without sharedSecret or authRef' });
      return undefined;
    }
    notes.push(
      `${what}: the shared secret is inline in the chart (TurnAuth.inlineEphemeral); move it to a Secret`,
    );
    return `TurnAuth.inlineEphemeral(${tsString(cfg.sharedSecret)})`;
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
  return `TurnAuth.inline(${tsString(cfg.userName)}, ${tsString(cfg.password)})`;
}

function secretValue(s: Obj, k: string): string | undefined {
  const sd = s.stringData?.[k];
  if (typeof sd === 'string') return sd;
  const d = s.data?.[k];
  return typeof d === 'string' ? Buffer.from(d, 'base64').toString() : undefined;
}

function normalizeProtocol(p: string): string | undefined {
  const u = p.toUpperCase();
  const bare = u.startsWith('TURN-') ? u.slice(5) : u;
  return ['UDP', 'TCP', 'TLS', 'DTLS'].includes(bare) ? `TURN-${bare}` : undefined;
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

function portsOf(b: Record<string, unknown>): { port?: number; endPort?: number } | undefined {
  const port = typeof b.port === 'number' ? b.port : undefined;
  const endPort = typeof b.endPort === 'number' ? b.endPort : undefined;
  if (port === undefined && endPort === undefined) return undefined;
  return { ...(port !== undefined && { port }), ...(endPort !== undefined && { endPort }) };
}

function camel(s: string): string {
  const parts = s.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const v = parts.map((p, i) => (i === 0 ? p.toLowerCase() : p[0]!.toUpperCase() + p.slice(1))).join('');
  return /^[0-9]/.test(v) ? `_${v}` : v || '_';
}

/**
 * A string as a TypeScript string literal that is safe anywhere in the generated file, comments
 * included: the one escaping every imported string goes through. Everything outside printable
 * ASCII is a \u escape (no newline, U+2028/U+2029 line separator or bidi control can end a comment
 * or disguise code), and `*` `/` is written `*\/` (the same string), so no block comment closes.
 */
export function tsString(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]|\*\//g, (c) =>
    c === '*/' ? '*\\/' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A value as TypeScript source: objects with identifier keys, strings through tsString. */
function ts(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(ts).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    return `{ ${entries.map(([k, x]) => `${tsKey(k)}: ${ts(x)}`).join(', ')} }`;
  }
  if (typeof v === 'string') return tsString(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return JSON.stringify(v);
  throw new ImportError(`cannot write a ${typeof v} into the chart`);
}

/** An object key: a plain identifier as is; `__proto__` computed, since a literal key would set the prototype. */
function tsKey(k: string): string {
  if (k === '__proto__') return `[${tsString(k)}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : tsString(k);
}

export async function runImport(
  argv: readonly string[],
  io: { out: (s: string) => void; err: (s: string) => void },
): Promise<number> {
  const files: string[] = [];
  let outFile: string | undefined;
  let chartName = 'ImportedChart';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new ImportError(`${a} needs a value`);
      return v;
    };
    if (a === '-o' || a === '--output') outFile = value();
    else if (a === '--chart-name') chartName = value();
    else if (a.startsWith('-') && a !== '-') throw new ImportError(`unknown flag "${a}"`);
    else files.push(a);
  }
  try {
    if (files.length === 0) throw new ImportError('give one or more YAML files');
    const texts = await Promise.all(
      files.map(async (f) => ({
        name: f,
        text: await readFile(f === '-' ? '/dev/stdin' : f, 'utf8').catch(() => {
          throw new ImportError(`${f}: cannot read`);
        }),
      })),
    );
    const r = importStunnerYaml(texts, chartName);
    if (outFile) await writeFile(outFile, r.source);
    else io.out(r.source);
    for (const n of r.notes) io.err(`stunnerctl import: note: ${n}\n`);
    for (const u of r.unmapped) io.err(`stunnerctl import: not mapped: ${u.what}: ${u.reason}\n`);
    io.err(
      `stunnerctl import: ${r.gateways.length} gateway(s), ${r.routes.length} route(s) mapped${r.unmapped.length > 0 ? `, ${r.unmapped.length} item(s) not mapped` : ''}${outFile ? `; wrote ${outFile}` : ''}\n`,
    );
    return r.unmapped.length > 0 ? 3 : 0;
  } catch (e) {
    if (e instanceof ImportError) {
      io.err(`stunnerctl import: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
