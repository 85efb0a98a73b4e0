/**
 * `stunnerctl`: inspect gateways from the committed YAML, a live cluster or a running runtime.
 * `main(argv, io?)` returns the exit code; every error is one line on stderr.
 *
 * Exit codes: 0 ok; 1 error (bad arguments, unreadable source, no such gateway); 2 `status`: a pod
 * or runtime is not READY or unreachable; 3 `import`: some objects could not be mapped.
 */
import { stringify as toYaml } from 'yaml';
import { ICE_AUTH_TTL_LIMIT } from '../../contract/defaults.js';
import { buildIceServers, type IceServer } from '../../runtime/ice/ice-config.js';
import { DEFAULT_TTL, ICE_TRANSPORT_POLICIES, type IceTransportPolicy } from '../../runtime/ice/query.js';
import { printableLines } from '../../runtime/log/printable.js';
import {
  describeCredentials,
  fetchStatus,
  type GatewaySource,
  type GatewayView,
  parseSourceArgs,
  readGatewayConfigs,
  SOURCE_USAGE,
  SourceError,
  watchGatewayConfigs,
} from '../sources/index.js';
import { backendsOf, describeBackend, mermaidGraph } from './graph.js';

export const USAGE = `usage: stunnerctl <command> [flags]

commands:
  config [gateway]   listeners, public address:port, auth type and user, routes and their endpoints
                     -o summary|yaml|json (default summary), -w watch (cluster or --url),
                     --show-secrets (print passwords and shared secrets)
  status             readiness, allocations per listener and drain state of every gateway pod
                     (cluster) or runtime (--url)
  auth [gateway]     the ICE configuration and TURN REST credentials the ICE auth service would
                     answer: --username <id> --ttl <s> --listener <name>
                     --ice-transport-policy all|relay|public, -o json|summary (default json)
  icetest ...        end-to-end check of a gateway (stunnerctl icetest --help)
  graph              listeners -> routes -> backends as a Mermaid flowchart
  import <file>...   STUNner Gateway API YAML to a TypeScript chart of this package's constructs:
                     -o <file.ts> (default stdout), --chart-name <ClassName>

sources (config, status, auth, graph):
${SOURCE_USAGE}

exit codes: 0 ok, 1 error, 2 status: not ready or unreachable, 3 import: partly mapped`;

export class UsageError extends Error {}

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** Aborts -w. */
  readonly signal?: AbortSignal;
  /** Unix time in seconds, for ephemeral credentials. */
  readonly now?: () => number;
}

const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export async function main(argv: readonly string[], rawIo: Io = stdio): Promise<number> {
  // What stunnerctl prints carries text from servers (a runtime's /status, the cluster's objects):
  // no control character but our own newlines reaches the terminal.
  const io: Io = {
    ...rawIo,
    out: (s) => rawIo.out(printableLines(s)),
    err: (s) => rawIo.err(printableLines(s)),
  };
  const [cmd, ...args] = argv;
  try {
    if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
      (cmd === undefined ? io.err : io.out)(`${USAGE}\n`);
      return cmd === undefined ? 1 : 0;
    }
    if (args.includes('-h') || args.includes('--help')) {
      if (cmd === 'icetest') return await icetest(args);
      if (cmd === 'import') {
        const { IMPORT_USAGE } = await import('./import/index.js');
        io.out(`${IMPORT_USAGE}\n`);
      } else io.out(`${USAGE}\n`);
      return 0;
    }
    switch (cmd) {
      case 'config':
        return await config(args, io);
      case 'status':
        return await status(args, io);
      case 'auth':
        return await auth(args, io);
      case 'graph':
        return await graph(args, io);
      case 'icetest':
        return await icetest(args);
      case 'import': {
        const { runImport } = await import('./import/index.js');
        return await runImport(args, io);
      }
      default:
        throw new UsageError(
          `unknown command "${cmd}" (config, status, auth, icetest, graph, import; --help)`,
        );
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof SourceError) {
      io.err(`stunnerctl ${cmd}: ${e.message}\n`);
      return 1;
    }
    io.err(`stunnerctl ${cmd}: ${(e as Error).message?.split('\n')[0] ?? String(e)}\n`);
    return 1;
  }
}

async function icetest(args: readonly string[]): Promise<number> {
  // Loaded lazily, so that the other commands never load it; with the gateway reader, so that
  // icetest reads -f, --url and --kubeconfig here (the pods' `stunnerd icetest` reads -c only).
  const [{ main }, { readGateways }] = await Promise.all([
    import('../icetest/icetest.js'),
    import('../sources/gateway-reader.js'),
  ]);
  return main([...args], undefined, readGateways);
}

// ---------------------------------------------------------------------------------------------

interface Flags {
  readonly positional: string[];
  readonly values: Map<string, string>;
  readonly switches: Set<string>;
}

/** Splits the command's own flags; `valued` take a value, `bool` do not. */
function flags(rest: readonly string[], valued: readonly string[], bool: readonly string[]): Flags {
  const positional: string[] = [];
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (valued.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : rest[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      values.set(name, v);
    } else if (bool.includes(name)) switches.add(name);
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown flag "${a}"`);
    else positional.push(a);
  }
  return { positional, values, switches };
}

function needSource(source: GatewaySource | undefined): GatewaySource {
  if (source) return source;
  throw new UsageError('give a source: -f <dir|file>, --kubeconfig/--context, or --url');
}

/** Gateways matching `[gateway]` (`name`, `ns/name`, or `cluster/ns/name`) and -n. */
function select(
  views: GatewayView[],
  gateway: string | undefined,
  namespace: string | undefined,
): GatewayView[] {
  let out = namespace ? views.filter((v) => v.namespace === namespace) : views;
  if (gateway !== undefined) {
    out = out.filter(
      (v) =>
        v.name === gateway ||
        `${v.namespace}/${v.name}` === gateway ||
        `${v.cluster}/${v.namespace}/${v.name}` === gateway,
    );
    if (out.length === 0) {
      const known = views.map(key).join(', ') || 'none';
      throw new UsageError(`no gateway "${gateway}" (known: ${known})`);
    }
  }
  return out;
}

function key(v: GatewayView): string {
  return `${v.cluster ? `${v.cluster}/` : ''}${v.namespace}/${v.name}`;
}

const REDACTED = '<redacted>';

function redacted(v: GatewayView, show: boolean): GatewayView['config'] {
  const c = structuredClone(v.config);
  if (!show) {
    if (c.auth.credentials.password !== undefined) c.auth.credentials.password = REDACTED;
    if (c.auth.credentials.secret !== undefined) c.auth.credentials.secret = REDACTED;
    for (const l of c.listeners) if (l.key !== undefined) l.key = REDACTED;
  }
  return c;
}

/** The machine-readable view of a gateway (-o json|yaml). */
export function configDocument(v: GatewayView, showSecrets: boolean): Record<string, unknown> {
  return {
    gateway: `${v.namespace}/${v.name}`,
    ...(v.cluster && { cluster: v.cluster }),
    origin: v.origin,
    credentials: describeCredentials(v),
    listeners: v.listeners.map((l) => ({
      name: l.name,
      protocol: l.protocol,
      port: l.port,
      ...(l.servicePort !== undefined && { servicePort: l.servicePort }),
      ...(l.nodePort !== undefined && { nodePort: l.nodePort }),
      ...(l.public ? { public: l.public } : { publicPending: l.pending }),
      routes: l.routes.map((r) => {
        const c = v.config.clusters.find((x) => x.name === r);
        return {
          name: r,
          ...(c ? { type: c.type, protocol: c.protocol, endpoints: c.endpoints } : { missing: true }),
        };
      }),
    })),
    config: redacted(v, showSecrets),
    ...(v.warnings.length > 0 && { warnings: v.warnings }),
  };
}

/** The human-readable view of a gateway (-o summary). */
export function configSummary(v: GatewayView, showSecrets: boolean): string {
  const a = v.config.auth;
  const c = a.credentials;
  const lines = [`gateway ${key(v)}  (${v.origin})`];
  let auth = `  auth: ${a.type}, realm ${a.realm}`;
  if (a.type === 'static') {
    auth += c.username !== undefined ? `, user ${c.username}` : ', user unknown';
    if (showSecrets && c.password !== undefined) auth += `, password ${c.password}`;
  } else if (showSecrets && c.secret !== undefined) auth += `, shared secret ${c.secret}`;
  lines.push(`${auth}; credentials ${describeCredentials(v)}`);
  if (v.service) {
    const extra = [
      v.service.externalTrafficPolicy && `externalTrafficPolicy ${v.service.externalTrafficPolicy}`,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`  service: ${v.service.name} (${v.service.type}${extra ? `, ${extra}` : ''})`);
  }
  for (const l of v.listeners) {
    const pub = l.public
      ? `${l.public.address}:${l.public.port} (${l.public.source})`
      : `unknown: ${l.pending}`;
    const node = l.nodePort !== undefined ? `, nodePort ${l.nodePort}` : '';
    lines.push(`  listener ${l.name}: ${l.protocol} port ${l.port}${node}, public ${pub}`);
    if (l.routes.length === 0) lines.push('    no routes: every peer is refused');
    for (const r of l.routes) {
      const cl = v.config.clusters.find((x) => x.name === r);
      if (!cl) {
        lines.push(`    route ${r}: no such cluster`);
        continue;
      }
      lines.push(`    route ${r} (${cl.type}, ${cl.protocol}): ${cl.endpoints.join(', ') || 'no endpoints'}`);
      for (const b of backendsOf(cl)) lines.push(`      ${describeBackend(b)}`);
    }
  }
  for (const w of v.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

function render(views: GatewayView[], output: string, show: boolean): string {
  if (output === 'json')
    return `${JSON.stringify(
      views.map((v) => configDocument(v, show)),
      null,
      2,
    )}\n`;
  if (output === 'yaml') return toYaml(views.map((v) => configDocument(v, show)));
  return `${views.map((v) => configSummary(v, show)).join('\n\n')}\n`;
}

async function config(argv: readonly string[], io: Io): Promise<number> {
  const src = parseSourceArgs(argv);
  const f = flags(src.rest, ['-o', '--output'], ['-w', '--watch', '--show-secrets']);
  const output = f.values.get('-o') ?? f.values.get('--output') ?? 'summary';
  if (!['summary', 'yaml', 'json'].includes(output))
    throw new UsageError(`-o ${output}: use summary, yaml or json`);
  if (f.positional.length > 1) throw new UsageError(`one gateway at most (got ${f.positional.join(' ')})`);
  const source = needSource(src.source);
  const show = f.switches.has('--show-secrets');
  const gateway = f.positional[0];
  if (f.switches.has('-w') || f.switches.has('--watch')) {
    if (source.kind === 'files') throw new UsageError('-w watches a live source: a cluster or --url');
    const signal = io.signal ?? signalOnInterrupt();
    let failed: Error | undefined;
    await watchGatewayConfigs(
      source,
      (views) => {
        try {
          io.out(
            `--- ${new Date().toISOString()}\n${render(select(views, gateway, src.namespace), output, show)}`,
          );
        } catch (e) {
          io.err(`stunnerctl config: ${(e as Error).message}\n`);
        }
      },
      signal,
    ).catch((e: Error) => {
      failed = e;
    });
    if (failed) throw failed;
    return 0;
  }
  const views = select(await readGatewayConfigs(source), gateway, src.namespace);
  io.out(render(views, output, show));
  return 0;
}

function signalOnInterrupt(): AbortSignal {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  return ac.signal;
}

// ---------------------------------------------------------------------------------------------

interface PodStatus {
  readonly gateway: string;
  readonly pod: string;
  readonly url: string;
  readonly status: string;
  readonly allocations?: number;
  readonly listeners?: { name: string; allocations: number; running: boolean }[];
  readonly error?: string;
}

async function status(argv: readonly string[], io: Io): Promise<number> {
  const src = parseSourceArgs(argv);
  const f = flags(src.rest, ['-o', '--output'], []);
  const output = f.values.get('-o') ?? f.values.get('--output') ?? 'summary';
  if (!['summary', 'json'].includes(output)) throw new UsageError(`-o ${output}: use summary or json`);
  const source = needSource(src.source);
  if (source.kind === 'files')
    throw new UsageError('status needs a live source: a cluster (--kubeconfig/--context) or --url');
  const views = select(await readGatewayConfigs(source), f.positional[0], src.namespace);
  const targets: { gateway: string; pod: string; url: string }[] = [];
  const rows: PodStatus[] = [];
  for (const v of views) {
    if (v.statusUrl) targets.push({ gateway: key(v), pod: '-', url: v.statusUrl });
    for (const p of v.pods ?? []) {
      if (p.healthUrl) targets.push({ gateway: key(v), pod: p.name, url: `${p.healthUrl}/status` });
      else
        rows.push({
          gateway: key(v),
          pod: p.name,
          url: '',
          status: p.ip ? 'NO-HEALTH-ENDPOINT' : `NOT-SCHEDULED (${p.phase ?? 'unknown'})`,
        });
    }
    if (!v.statusUrl && (v.pods ?? []).length === 0)
      rows.push({ gateway: key(v), pod: '-', url: '', status: 'NO-PODS' });
  }
  rows.push(
    ...(await Promise.all(
      targets.map(async (t): Promise<PodStatus> => {
        try {
          const st = await fetchStatus(t.url);
          const listeners = (Array.isArray(st.listeners) ? st.listeners : []).map(
            (l: Record<string, unknown>) => ({
              name: String(l.name),
              allocations: typeof l.allocations === 'number' ? l.allocations : 0,
              running: l.running !== false,
            }),
          );
          return {
            ...t,
            status: String(st.status ?? 'UNKNOWN'),
            allocations: typeof st.allocationCount === 'number' ? st.allocationCount : 0,
            listeners,
          };
        } catch (e) {
          return { ...t, status: 'UNREACHABLE', error: (e as Error).message };
        }
      }),
    )),
  );
  rows.sort((a, b) => a.gateway.localeCompare(b.gateway) || a.pod.localeCompare(b.pod));
  if (output === 'json') io.out(`${JSON.stringify(rows, null, 2)}\n`);
  else {
    for (const r of rows) {
      const where = r.pod === '-' ? r.url : `pod ${r.pod}`;
      const drain = r.status === 'TERMINATING' ? ', draining' : '';
      const allocs = r.allocations !== undefined ? `, ${r.allocations} allocations` : '';
      io.out(`${r.gateway} ${where}: ${r.status}${drain}${allocs}${r.error ? ` (${r.error})` : ''}\n`);
      for (const l of r.listeners ?? [])
        io.out(`  listener ${l.name}: ${l.allocations} allocations${l.running ? '' : ', not running'}\n`);
    }
  }
  return rows.length > 0 && rows.every((r) => r.status === 'READY') ? 0 : 2;
}

// ---------------------------------------------------------------------------------------------

async function auth(argv: readonly string[], io: Io): Promise<number> {
  const src = parseSourceArgs(argv);
  const f = flags(
    src.rest,
    ['-o', '--output', '--username', '--ttl', '--listener', '--ice-transport-policy'],
    [],
  );
  const output = f.values.get('-o') ?? f.values.get('--output') ?? 'json';
  if (!['summary', 'json'].includes(output)) throw new UsageError(`-o ${output}: use json or summary`);
  const username = f.values.get('--username') ?? '';
  if (/[:\s]/.test(username)) throw new UsageError('--username may not contain ":" or whitespace');
  const ttlText = f.values.get('--ttl') ?? String(DEFAULT_TTL);
  if (!/^[0-9]+$/.test(ttlText) || Number(ttlText) < 1 || Number(ttlText) > ICE_AUTH_TTL_LIMIT)
    throw new UsageError(`--ttl ${ttlText}: a number of seconds, 1 to one year`);
  const ttl = Number(ttlText);
  const policy = (f.values.get('--ice-transport-policy') ?? 'all') as IceTransportPolicy;
  if (!ICE_TRANSPORT_POLICIES.includes(policy))
    throw new UsageError(`--ice-transport-policy ${policy}: all, relay or public`);
  const views = select(await readGatewayConfigs(needSource(src.source)), f.positional[0], src.namespace);
  const listener = f.values.get('--listener');
  const now = io.now?.() ?? Math.floor(Date.now() / 1000);
  const answers: { gateway: string; server: IceServer; ttl: number }[] = [];
  const problems: string[] = [];
  for (const v of views) {
    const config = structuredClone(v.config);
    // The addresses this tool resolved stand in for the auth service's watcher.
    for (const l of config.listeners) {
      const lv = v.listeners.find((x) => x.fullName === l.name);
      if (lv?.public) {
        l.public_address = lv.public.address;
        l.public_port = lv.public.port;
      }
    }
    const r = buildIceServers(
      [config],
      { get: () => undefined },
      { username, ttl, namespace: v.namespace, gateway: v.name, ...(listener !== undefined && { listener }) },
      now,
    );
    if (r.ok) for (const s of r.servers) answers.push({ gateway: key(v), server: s, ttl });
    else {
      const why =
        r.status === 500 && v.credentials.kind !== 'inline'
          ? `credentials ${describeCredentials(v)}: give --secret-file or a cluster that can read them`
          : r.message;
      problems.push(`${key(v)}: ${why}`);
    }
  }
  if (answers.length === 0) throw new UsageError(problems.join('; ') || 'no gateway');
  const ice = { iceServers: answers.map((a) => a.server), iceTransportPolicy: policy };
  const first = answers[0]!;
  const rest = {
    username: first.server.username,
    password: first.server.credential,
    ttl,
    uris: first.server.urls,
  };
  if (output === 'json') io.out(`${JSON.stringify({ ice, turnRest: rest }, null, 2)}\n`);
  else {
    for (const a of answers)
      io.out(
        `${a.gateway}: ${a.server.urls.join(' ')} username ${a.server.username} credential ${a.server.credential}\n`,
      );
  }
  for (const p of problems) io.err(`stunnerctl auth: ${p}\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------

async function graph(argv: readonly string[], io: Io): Promise<number> {
  const src = parseSourceArgs(argv);
  const f = flags(src.rest, [], []);
  const views = select(await readGatewayConfigs(needSource(src.source)), f.positional[0], src.namespace);
  io.out(mermaidGraph(views));
  return 0;
}
