/**
 * `stunnerctl`: inspect gateways from the committed YAML, a live cluster or a running runtime.
 * `main(argv, io?)` returns the exit code (contract/exit-codes.ts, docs/cli.md); every error is
 * one line on stderr. The command line is yargs' (runtime/args/cli.ts): per-command --help,
 * --version, completion.
 */
import { stringify as toYaml } from 'yaml';
import { ICE_AUTH_TTL_LIMIT } from '../../contract/defaults.js';
import { ExitCode } from '../../contract/exit-codes.js';
import { RuntimeEnv } from '../../contract/pod-env.js';
import {
  type Argv,
  type CommandLine,
  completionCommand,
  lastValue,
  type Parsed,
  parseCommandLine,
  UsageError,
  valued,
} from '../../runtime/args/cli.js';
import { buildIceServers, type IceServer } from '../../runtime/ice/ice-config.js';
import { DEFAULT_TTL, ICE_TRANSPORT_POLICIES, type IceTransportPolicy } from '../../runtime/ice/query.js';
import { printableLines } from '../../runtime/log/printable.js';
import { ICETEST_DESCRIPTION, icetestOptions } from '../icetest/options.js';
import {
  describeCredentials,
  fetchStatus,
  type GatewaySource,
  type GatewayView,
  readGatewayConfigs,
  SourceError,
  sourceOf,
  sourceOptions,
  watchGatewayConfigs,
} from '../sources/index.js';
import { backendsOf, describeBackend, mermaidGraph } from './graph.js';
import { IMPORT_DESCRIPTION, IMPORT_EPILOG } from './import/usage.js';

export { UsageError } from '../../runtime/args/cli.js';

export const EXIT_CODES = `exit codes (docs/cli.md): 0 ok, 1 the operation or check failed (a source that cannot be read or
holds no gateway, a pod or runtime not READY or unreachable, no answer), 2 usage (unknown command
or flag, bad value, a gateway the source does not have), 3 import: some objects not mapped`;

const COMMANDS = ['config', 'status', 'auth', 'icetest', 'graph', 'import', 'completion'] as const;

const output = (choices: readonly string[], dflt: string) =>
  ({ ...valued(`output format: ${choices.join(', ')} (default ${dflt})`, { choices }), alias: 'o' }) as const;

/** The command line: every command, its options and help. */
export const CLI: CommandLine = {
  tool: 'stunnerctl',
  commands: COMMANDS,
  usage: `usage: $0 <command> [options]

Reads, checks and draws gateways from the committed YAML (-f dist/), a live cluster (--kubeconfig)
or a running runtime (--url); \`$0 <command> --help\` for each command.`,
  epilog: EXIT_CODES,
  build: (y: Argv) =>
    completionCommand(
      y
        .command(
          'config [gateway]',
          'listeners, public address:port, auth type and user, routes and their endpoints',
          (c) =>
            sourceOptions(c)
              .positional('gateway', {
                type: 'string',
                describe: 'name, namespace/name or cluster/namespace/name',
              })
              .option('output', output(['summary', 'yaml', 'json'], 'summary'))
              .option('watch', {
                type: 'boolean',
                alias: 'w',
                describe: 'watch a cluster or --url and print on change',
              })
              .option('show-secrets', { type: 'boolean', describe: 'print passwords and shared secrets' })
              .epilog(EXIT_CODES),
        )
        .command(
          'status [gateway]',
          'readiness, allocations per listener and drain state of every gateway pod (cluster) or runtime (--url)',
          (c) =>
            sourceOptions(c)
              .positional('gateway', {
                type: 'string',
                describe: 'name, namespace/name or cluster/namespace/name',
              })
              .option('output', output(['summary', 'json'], 'summary'))
              .epilog(
                'exit codes (docs/cli.md): 0 every pod or runtime READY, 1 one is not READY or unreachable (or the source cannot be read), 2 usage',
              ),
        )
        .command(
          'auth [gateway]',
          'the ICE configuration and TURN REST credentials the ICE auth service would answer',
          (c) =>
            sourceOptions(c)
              .positional('gateway', {
                type: 'string',
                describe: 'name, namespace/name or cluster/namespace/name',
              })
              .option('username', valued('user id folded into ephemeral usernames'))
              .option('ttl', valued(`credential lifetime in seconds (default ${DEFAULT_TTL})`))
              .option('listener', valued('only this listener'))
              .option(
                'ice-transport-policy',
                valued('all, relay or public (default all)', { choices: ICE_TRANSPORT_POLICIES }),
              )
              .option(
                'public-address',
                valued(
                  `the host the URIs name, as the auth service's --public-address/$${RuntimeEnv.PUBLIC_ADDR} does (default: what the source tells)`,
                ),
              )
              .option('output', output(['json', 'summary'], 'json'))
              .epilog(EXIT_CODES),
        )
        .command('icetest [gateway]', ICETEST_DESCRIPTION, (c) => icetestOptions(c))
        .command('graph [gateway]', 'listeners -> routes -> backends as a Mermaid flowchart', (c) =>
          sourceOptions(c)
            .positional('gateway', {
              type: 'string',
              describe: 'name, namespace/name or cluster/namespace/name',
            })
            .epilog(EXIT_CODES),
        )
        .command('import <file> [more..]', IMPORT_DESCRIPTION, (c) =>
          c
            .positional('file', { type: 'string', describe: "STUNner Gateway API YAML ('-': stdin)" })
            .positional('more', { type: 'string', array: true, describe: 'more YAML files' })
            .option('output', { ...valued('write the chart to this .ts file (default stdout)'), alias: 'o' })
            .option('chart-name', valued('the chart class name (default ImportedChart)'))
            .epilog(IMPORT_EPILOG),
        ),
    ).demandCommand(1, `give a command: ${COMMANDS.join(', ')}`),
};

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
  // icetest parses its own command line (the pods' `stunnerd icetest` shares it).
  if (cmd === 'icetest') return await icetest(args, io);
  if (cmd !== undefined && !cmd.startsWith('-') && !(COMMANDS as readonly string[]).includes(cmd)) {
    io.err(
      `stunnerctl: unknown command "${cmd}" (${COMMANDS.join(', ')})\nrun "stunnerctl --help" for usage\n`,
    );
    return ExitCode.USAGE;
  }
  const line = parseCommandLine(CLI, argv, {
    stdout: { write: (s: string) => io.out(s) },
    stderr: { write: (s: string) => io.err(s) },
  });
  if ('exit' in line) return line.exit;
  const a = line.args;
  try {
    switch (cmd) {
      case 'config':
        return await config(a, io);
      case 'status':
        return await status(a, io);
      case 'auth':
        return await auth(a, io);
      case 'graph':
        return await graph(a, io);
      case 'import': {
        const { runImport } = await import('./import/index.js');
        return await runImport(
          [String(a.file), ...((a.more as string[] | undefined) ?? []).map(String)],
          { output: lastValue(a.output), chartName: lastValue(a['chart-name']) },
          io,
        );
      }
      default:
        throw new UsageError(`unknown command "${cmd}" (${COMMANDS.join(', ')}; --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`stunnerctl ${cmd}: ${e.message}\n`);
      return ExitCode.USAGE;
    }
    if (e instanceof SourceError) {
      io.err(`stunnerctl ${cmd}: ${e.message}\n`);
      return ExitCode.FAILED;
    }
    io.err(`stunnerctl ${cmd}: ${(e as Error).message?.split('\n')[0] ?? String(e)}\n`);
    return ExitCode.FAILED;
  }
}

async function icetest(args: readonly string[], io: Io): Promise<number> {
  // Loaded lazily, so that the other commands never load it; with the gateway reader, so that
  // icetest reads -f, --url and --kubeconfig here (the pods' `stunnerd icetest` reads -c only).
  const [{ main }, { readGateways }] = await Promise.all([
    import('../icetest/icetest.js'),
    import('../sources/gateway-reader.js'),
  ]);
  return main(
    [...args],
    { stdout: { write: (s: string) => io.out(s) }, stderr: { write: (s: string) => io.err(s) } },
    readGateways,
    'stunnerctl icetest',
  );
}

// ---------------------------------------------------------------------------------------------

function needSource(source: GatewaySource | undefined): GatewaySource {
  if (source) return source;
  throw new UsageError('give a source: -f <dir|file>, --kubeconfig/--context, or --url');
}

function describeSource(source: GatewaySource): string {
  if (source.kind === 'files') return source.paths.join(', ');
  if (source.kind === 'url') return source.urls.join(', ');
  return `the cluster${source.context ? ` of context ${source.context}` : ''}`;
}

/**
 * The gateways a source holds: none is a failure, not an empty answer (an empty directory, a
 * file of other objects, a namespace without gateways).
 */
async function gatewaysOf(source: GatewaySource, namespace: string | undefined): Promise<GatewayView[]> {
  const views = await readGatewayConfigs(source);
  if (views.length === 0) {
    throw new SourceError(
      `no gateway in ${describeSource(source)}: expected the synthesized YAML of a gateway (a ConfigMap with stunnerd.conf, as cdk8s synth writes to dist/) or a dataplane config`,
    );
  }
  if (namespace !== undefined && !views.some((v) => v.namespace === namespace)) {
    throw new SourceError(
      `no gateway in namespace ${namespace} (namespaces: ${[...new Set(views.map((v) => v.namespace))].join(', ')})`,
    );
  }
  return views;
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
  // No anchors or aliases: each gateway's document reads on its own, as kubectl's -o yaml does.
  if (output === 'yaml')
    return toYaml(
      views.map((v) => configDocument(v, show)),
      { aliasDuplicateObjects: false },
    );
  return `${views.map((v) => configSummary(v, show)).join('\n\n')}\n`;
}

async function config(a: Parsed, io: Io): Promise<number> {
  const src = sourceOf(a);
  const output = lastValue(a.output) ?? 'summary';
  const source = needSource(src.source);
  const show = a['show-secrets'] === true;
  const gateway = lastValue(a.gateway);
  if (a.watch === true) {
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
    return ExitCode.OK;
  }
  const views = select(await gatewaysOf(source, src.namespace), gateway, src.namespace);
  io.out(render(views, output, show));
  return ExitCode.OK;
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

async function status(a: Parsed, io: Io): Promise<number> {
  const src = sourceOf(a);
  const output = lastValue(a.output) ?? 'summary';
  const source = needSource(src.source);
  if (source.kind === 'files')
    throw new UsageError('status needs a live source: a cluster (--kubeconfig/--context) or --url');
  const views = select(await gatewaysOf(source, src.namespace), lastValue(a.gateway), src.namespace);
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
  return rows.length > 0 && rows.every((r) => r.status === 'READY') ? ExitCode.OK : ExitCode.FAILED;
}

// ---------------------------------------------------------------------------------------------

async function auth(a: Parsed, io: Io): Promise<number> {
  const src = sourceOf(a);
  const output = lastValue(a.output) ?? 'json';
  const username = lastValue(a.username) ?? '';
  if (/[:\s]/.test(username)) throw new UsageError('--username may not contain ":" or whitespace');
  const publicAddress = lastValue(a['public-address']);
  if (publicAddress !== undefined && !/^[A-Za-z0-9.:[\]-]+$/.test(publicAddress))
    throw new UsageError(`--public-address ${publicAddress}: not a host name or IP address`);
  const ttlText = lastValue(a.ttl) ?? String(DEFAULT_TTL);
  if (!/^[0-9]+$/.test(ttlText) || Number(ttlText) < 1 || Number(ttlText) > ICE_AUTH_TTL_LIMIT)
    throw new UsageError(`--ttl ${ttlText}: a number of seconds, 1 to one year`);
  const ttl = Number(ttlText);
  const policy = (lastValue(a['ice-transport-policy']) ?? 'all') as IceTransportPolicy;
  if (!ICE_TRANSPORT_POLICIES.includes(policy))
    throw new UsageError(`--ice-transport-policy ${policy}: all, relay or public`);
  const views = select(
    await gatewaysOf(needSource(src.source), src.namespace),
    lastValue(a.gateway),
    src.namespace,
  );
  const listener = lastValue(a.listener);
  const now = io.now?.() ?? Math.floor(Date.now() / 1000);
  const answers: { gateway: string; server: IceServer; ttl: number }[] = [];
  const problems: string[] = [];
  for (const v of views) {
    const config = structuredClone(v.config);
    // The addresses this tool resolved stand in for the auth service's watcher; --public-address
    // for its --public-address (a config's own public_address still wins, as there).
    for (const l of config.listeners) {
      const lv = v.listeners.find((x) => x.fullName === l.name);
      if (publicAddress !== undefined && lv?.public?.source !== 'config') {
        l.public_address = publicAddress;
        l.public_port = lv?.public?.port ?? lv?.servicePort ?? l.public_port ?? l.port;
      } else if (lv?.public) {
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
  if (answers.length === 0) throw new SourceError(problems.join('; ') || 'no gateway');
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
  return ExitCode.OK;
}

// ---------------------------------------------------------------------------------------------

async function graph(a: Parsed, io: Io): Promise<number> {
  const src = sourceOf(a);
  const views = select(
    await gatewaysOf(needSource(src.source), src.namespace),
    lastValue(a.gateway),
    src.namespace,
  );
  io.out(mermaidGraph(views));
  return ExitCode.OK;
}
