/**
 * `stunnerd`: serve TURN from a config file (`-c file`, or `-c file://<dist YAML>#<gateway>` for a
 * gateway of the synthesized YAML) or a one-line URI (`turn://user:pass@host:port[?transport=tcp]`,
 * relaying where `--route` says, else anywhere but the perimeter's closed classes, with a warning).
 * Exit codes (contract/exit-codes.ts): a bad config prints every problem and exits 1, a bad command
 * line exits 2. Prints one line containing `stunnerd ready` once every listener is bound. SIGTERM
 * drains (new allocations refused, existing ones served until they end or the grace period runs
 * out); SIGINT stops at once. Both exit 0.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  ConfigError,
  type ConfigProblem,
  formatProblems,
  loadConfigFile,
  parseConfig,
  type StunnerConfig,
  validateConfig,
} from '../../contract/config/index.js';
import { DEFAULT_PORT } from '../../contract/defaults.js';
import { ExitCode } from '../../contract/exit-codes.js';
import { ipFamily } from '../../contract/ip-literal.js';
import {
  credentialValues,
  findManifestGateway,
  isManifestText,
  isObject,
  ManifestError,
  parseManifests,
  readManifests,
} from '../../contract/manifests.js';
import { RuntimeEnv } from '../../contract/pod-env.js';
import { AUTH_KEYS } from '../../contract/secret-keys.js';
import { unsupportedProblems } from '../../contract/support.js';
import {
  type Argv,
  allValues,
  type CommandLine,
  completionCommand,
  lastValue,
  parseCommandLine,
  UsageError,
  usageErrorText,
  valued,
} from '../args/cli.js';
import {
  createLogger,
  defaultLogFormat,
  formatLogLine,
  type LogFormat,
  parseLevelSpec,
  parseLogFormat,
  setDefaultLogFormat,
} from '../log/logger.js';
import { isRelayWorker, setRelayWorkerEntry } from '../relay/threads.js';
import type { StunnerdProcess } from './stunnerd.js';

export { UsageError } from '../args/cli.js';

export const STUNNERD_EXIT_CODES =
  'exit codes (docs/cli.md): 0 stopped by SIGTERM/SIGINT, 1 the config is invalid or cannot be served, 2 usage';

/** The address `--local` stands in for the pod's and the cluster's. */
export const DEFAULT_LOCAL_ADDRESS = '127.0.0.1';

/** stunnerd's command line: the relay, and the other programs of the runtime as commands. */
export const CLI: CommandLine = {
  tool: 'stunnerd',
  commands: ['auth', 'icetest', 'completion'],
  usage: `usage: $0 -c <config> [options]
$0 turn://<user>:<pass>@<address>:<port>[?transport=udp|tcp] [--route <cidr>[:<port>]]... [options]
$0 <command> [options]

The TURN relay. -c takes a dataplane config (YAML or JSON, hot-reloaded), or a gateway of the synthesized YAML: -c file://dist/<app>.k8s.yaml#<gateway> (add --local to run it on this machine).`,
  epilog: `examples:
  stunnerd turn://user:pass@127.0.0.1:${DEFAULT_PORT} --route 127.0.0.1/32:9001
  stunnerd -c file://dist/eu-west/simple-tunnel.k8s.yaml#udp-gateway --local --secret-file turn-secret.yaml

${STUNNERD_EXIT_CODES}`,
  build: (y: Argv) =>
    completionCommand(
      y
        .command('$0 [uri]', false, (c) =>
          c.positional('uri', {
            type: 'string',
            describe: 'turn://<user>:<pass>@<address>:<port>[?transport=udp|tcp]',
          }),
        )
        .command('auth', 'the ICE auth service: GET /ice, TURN REST API (stunnerd auth --help)')
        .command('icetest', 'end-to-end check of a gateway (stunnerd icetest --help; reads -c only)')
        .option('config', {
          ...valued(
            'dataplane config file, or file://<dist YAML>#<gateway> (a gateway of the synthesized YAML)',
          ),
          alias: 'c',
        })
        .option(
          'route',
          valued(
            'with turn://: relay only to <cidr>[:<port>[-<port>]] (repeatable), e.g. 127.0.0.1/32:9001; without it the one-liner relays anywhere (allow-any)',
          ),
        )
        .option(
          'secret-file',
          valued(
            "with file://: the gateway's credentials when its YAML names a Secret (a Secret manifest, or username/password or secret keys)",
          ),
        )
        .option('local', {
          type: 'boolean',
          describe: `with file://: run the gateway on this machine: $${RuntimeEnv.ADDR}, cluster DNS names (*.svc...) and the health/metrics endpoints become --local-address`,
        })
        .option('local-address', valued(`the address --local uses (default ${DEFAULT_LOCAL_ADDRESS})`))
        .option('log', {
          ...valued('log levels, e.g. all:INFO,turn:DEBUG (overrides admin.loglevel)'),
          alias: 'l',
        })
        .option(
          'log-format',
          valued('log lines as text (default) or JSON objects; also $STUNNERD_LOG_FORMAT', {
            choices: ['text', 'json'],
          }),
        )
        .option(
          'grace-period',
          valued('on SIGTERM, serve existing allocations at most this long, in seconds (default 3600)'),
        ),
    ),
};

export interface CliArgs {
  /**
   * `-c`: a dataplane config file (YAML or JSON), or synthesized YAML and the gateway after `#`
   * (`file://<path>#<gateway>`; told apart when read).
   */
  readonly config?: { readonly path: string; readonly gateway?: string };
  readonly uri?: string;
  /** `--route` endpoints, in the config's syntax (`<cidr>:<lo-hi>`). */
  readonly routes: readonly string[];
  readonly secretFile?: string;
  /** `--local`: the address for $STUNNER_ADDR, cluster DNS names and the admin endpoints. */
  readonly localAddress?: string;
  readonly logLevel?: string;
  readonly logFormat?: LogFormat;
  readonly gracePeriodS: number;
}

/**
 * `--route` into an endpoint: `10.0.0.0/8`, `127.0.0.1/32:9001`, `127.0.0.1:9000-9010`,
 * `[::1]:9001`, `fd00::/8`.
 */
export function routeEndpoint(raw: string): string {
  const m =
    /^\[([^\]]+)\](\/[0-9]+)?(?::([0-9]+)(?:-([0-9]+))?)?$/.exec(raw) ??
    (raw.split(':').length > 2
      ? /^([^/]+)(\/[0-9]+)?()()$/.exec(raw)
      : /^([^/:]+)(\/[0-9]+)?(?::([0-9]+)(?:-([0-9]+))?)?$/.exec(raw));
  if (!m || ipFamily(m[1]!) === 0)
    throw new UsageError(
      `--route ${raw}: expected <ip>[/<prefix>][:<port>[-<port>]], e.g. 127.0.0.1/32:9001`,
    );
  const [, ip, prefix = '', lo, hi] = m;
  return lo ? `${ip}${prefix}:<${lo}-${hi || lo}>` : `${ip}${prefix}`;
}

function parseFileSource(v: string): { path: string; gateway?: string } {
  const rest = v.startsWith('file://') ? v.slice('file://'.length) : v;
  const hash = rest.lastIndexOf('#');
  const path = hash < 0 ? rest : rest.slice(0, hash);
  if (path === '') throw new UsageError('-c file:// needs a path: file://<dist YAML>#<gateway>');
  return hash < 0 ? { path } : { path, gateway: rest.slice(hash + 1) };
}

function cliArgs(a: Record<string, unknown>): CliArgs {
  const config = lastValue(a.config);
  const uri = lastValue(a.uri);
  if (uri !== undefined && !/^turns?:\/\//.test(uri))
    throw new UsageError(
      `unknown argument "${uri}" (a one-line config is turn://<user>:<pass>@<address>:<port>)`,
    );
  if (config === undefined && uri === undefined)
    throw new UsageError('give a config file (-c <file>) or a turn://user:pass@address:port URI');
  if (config !== undefined && uri !== undefined)
    throw new UsageError('give either -c <file> or a URI, not both');
  const routes = allValues(a.route).map(routeEndpoint);
  if (routes.length > 0 && uri === undefined)
    throw new UsageError('--route is for the turn:// one-liner; a config file has its own routes');
  const file = config === undefined ? undefined : parseFileSource(config);
  const secretFile = lastValue(a['secret-file']);
  const local = a.local === true;
  const localAddress = lastValue(a['local-address']);
  if (localAddress !== undefined && !local) throw new UsageError('--local-address needs --local');
  if (localAddress !== undefined && ipFamily(localAddress) === 0)
    throw new UsageError(`--local-address ${localAddress}: not an IP address`);
  if ((secretFile !== undefined || local) && file === undefined)
    throw new UsageError(
      `${secretFile !== undefined ? '--secret-file' : '--local'} is for -c file://<dist YAML>#<gateway>`,
    );
  const logLevel = lastValue(a.log);
  if (logLevel !== undefined) {
    try {
      parseLevelSpec(logLevel);
    } catch (e) {
      throw new UsageError(`-l: ${(e as Error).message}`);
    }
  }
  const logFormatText = lastValue(a['log-format']);
  let logFormat: LogFormat | undefined;
  if (logFormatText !== undefined) {
    try {
      logFormat = parseLogFormat(logFormatText);
    } catch (e) {
      throw new UsageError(`--log-format: ${(e as Error).message}`);
    }
  }
  const grace = lastValue(a['grace-period']) ?? '3600';
  if (!/^[0-9]+$/.test(grace)) throw new UsageError(`--grace-period: "${grace}" is not a number of seconds`);
  return {
    gracePeriodS: Number(grace),
    routes,
    ...(file !== undefined ? { config: file } : {}),
    ...(uri !== undefined ? { uri } : {}),
    ...(secretFile !== undefined ? { secretFile } : {}),
    ...(local ? { localAddress: localAddress ?? DEFAULT_LOCAL_ADDRESS } : {}),
    ...(logLevel !== undefined ? { logLevel } : {}),
    ...(logFormat !== undefined ? { logFormat } : {}),
  };
}

/**
 * The one-line form, as STUNner's: a listener on the URI's address and port, static credentials
 * from its user info, and a route to `routes` (`--route`), else to an allow-any cluster (the
 * perimeter still keeps loopback, link-local, 0.0.0.0/8, multicast and the gateway's own listener
 * ports closed to it).
 */
export function configFromUri(uri: string, routes: readonly string[] = []): StunnerConfig {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw new ConfigError([{ path: 'uri', message: `"${uri}" is not a valid turn:// URI` }], 'command line');
  }
  const problems: ConfigProblem[] = [];
  if (u.protocol !== 'turn:')
    problems.push({ path: 'uri', message: `scheme ${u.protocol} is not supported; use turn://` });
  const transport = (u.searchParams.get('transport') ?? 'udp').toLowerCase();
  if (transport !== 'udp' && transport !== 'tcp') {
    problems.push({ path: 'uri.transport', message: `"${transport}" is not supported; use udp or tcp` });
  }
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  if (username === '') problems.push({ path: 'uri.username', message: 'is required (turn://user:pass@...)' });
  if (password === '') problems.push({ path: 'uri.password', message: 'is required (turn://user:pass@...)' });
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (problems.length > 0) throw new ConfigError(problems, 'command line');
  const cluster =
    routes.length > 0
      ? { name: 'routes', type: 'STATIC', endpoints: [...routes] }
      : { name: 'allow-any', type: 'STATIC', endpoints: ['0.0.0.0/0', '::/0'] };
  return parseConfig(
    {
      version: 'v1',
      admin: { name: 'stunnerd', healthcheck_endpoint: '' },
      auth: { type: 'static', credentials: { username, password } },
      listeners: [
        {
          name: 'default-listener',
          protocol: transport === 'tcp' ? 'TURN-TCP' : 'TURN-UDP',
          address: host,
          port: u.port === '' ? DEFAULT_PORT : Number(u.port),
          routes: [cluster.name],
        },
      ],
      clusters: [cluster],
    },
    { source: 'command line' },
  );
}

/** True when a route admits any address (0.0.0.0/0 or ::/0): an open relay. */
export function isAllowAny(endpoints: readonly string[]): boolean {
  return endpoints.some((e) => /^(0\.0\.0\.0|::)\/0(:|$)/.test(e));
}

const OPEN_RELAY_WARNING = `warning: this relay is open: it relays to any address (allow-any) but loopback, link-local and its own ports, for anyone with the credentials. Give --route <cidr>[:<port>] (e.g. --route 127.0.0.1/32:9001) to relay only there.`;

/** Cluster DNS names (`<svc>.<ns>.svc`, `....svc.cluster.local`): what --local replaces. */
const CLUSTER_DNS = /^[a-z0-9-]+\.[a-z0-9-]+\.svc(\.[a-z0-9.-]+)?$/i;

/**
 * A gateway of the synthesized YAML, as its pod would serve it: credentials from `secretFile` when
 * the YAML names a Secret, `$VAR`s from the environment; with `localAddress`, $STUNNER_ADDR,
 * cluster DNS names and the admin endpoints' hosts become that address. Notes go to `note`.
 */
export async function loadManifestGateway(
  path: string,
  gateway: string | undefined,
  opts: {
    secretFile?: string;
    localAddress?: string;
    env?: NodeJS.ProcessEnv;
    note?: (line: string) => void;
  },
): Promise<StunnerConfig> {
  const text = await readFile(path, 'utf8');
  const gw = findManifestGateway(parseManifests(text, path), gateway, path);
  const where = `${path}#${gw.namespace}/${gw.name}`;
  let raw: unknown;
  try {
    raw = parseYaml(gw.configText);
  } catch (e) {
    throw new ConfigError(
      [{ path: '', message: `stunnerd.conf is not YAML or JSON: ${(e as Error).message.split('\n')[0]}` }],
      where,
    );
  }
  if (!isObject(raw)) throw new ConfigError([{ path: '', message: 'stunnerd.conf is not an object' }], where);
  const auth = isObject(raw.auth) ? raw.auth : {};
  const given = isObject(auth.credentials) ? auth.credentials : {};
  if (opts.secretFile !== undefined) {
    const values = credentialValues(await readManifests(opts.secretFile), gw.secret);
    const creds: Record<string, unknown> = { ...given };
    for (const k of AUTH_KEYS) if (creds[k] === undefined && values[k] !== undefined) creds[k] = values[k];
    raw.auth = { ...auth, credentials: creds };
  } else if (Object.keys(given).length === 0 && gw.secret !== undefined) {
    throw new UsageError(
      `${where} takes its credentials from Secret ${gw.secret}, which the pod mounts; pass --secret-file <file> (a Secret manifest, or username: and password: lines; secret: for a shared secret)`,
    );
  }
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
  const local = opts.localAddress;
  if (local !== undefined) {
    env[RuntimeEnv.ADDR] = local;
    const admin = isObject(raw.admin) ? raw.admin : {};
    for (const k of ['healthcheck_endpoint', 'metrics_endpoint']) {
      const v = admin[k];
      if (typeof v === 'string' && /^[a-z]+:\/\/:/.test(v))
        admin[k] = v.replace('://:', `://${local.includes(':') ? `[${local}]` : local}:`);
    }
    for (const c of Array.isArray(raw.clusters) ? raw.clusters : []) {
      if (!isObject(c) || !Array.isArray(c.endpoints)) continue;
      c.endpoints = c.endpoints.map((e: unknown) => {
        if (typeof e !== 'string') return e;
        const m = /^([^:<]+)(:<[0-9]+-[0-9]+>)?$/.exec(e);
        if (!m || !CLUSTER_DNS.test(m[1]!)) return e;
        opts.note?.(`--local: cluster ${String(c.name)}: ${m[1]} -> ${local}`);
        return `${local}${m[2] ?? ''}`;
      });
    }
  }
  const r = validateConfig(raw, { env });
  if (!r.ok) throw new ConfigError(r.problems, where);
  return r.config;
}

function fail(message: string, code: number = ExitCode.FAILED): never {
  process.stderr.write(`stunnerd: ${message}\n`);
  process.exit(code);
}

/** The config to serve, and the file to hot-reload (a plain config file only). */
async function loadConfig(args: CliArgs): Promise<{ config: StunnerConfig; file?: string; source: string }> {
  let loaded: { config: StunnerConfig; file?: string; source: string };
  if (args.config !== undefined) {
    const { path, gateway } = args.config;
    const text = await readFile(path, 'utf8');
    if (
      isManifestText(text) ||
      gateway !== undefined ||
      args.localAddress !== undefined ||
      args.secretFile !== undefined
    ) {
      const config = await loadManifestGateway(path, gateway, {
        ...(args.secretFile !== undefined ? { secretFile: args.secretFile } : {}),
        ...(args.localAddress !== undefined ? { localAddress: args.localAddress } : {}),
        note: (line) => process.stderr.write(`stunnerd: ${line}\n`),
      });
      loaded = { config, source: path };
    } else loaded = { config: await loadConfigFile(path), file: path, source: path };
  } else loaded = { config: configFromUri(args.uri!, args.routes), source: 'command line' };
  const problems = unsupportedProblems(loaded.config);
  if (problems.length > 0) throw new ConfigError(problems, loaded.source);
  return loaded;
}

export async function main(argv: string[]): Promise<void> {
  if (isRelayWorker()) {
    // A relay thread of admin.threads > 1, started from this same entry point.
    const { runRelayWorker } = await import('../relay/worker.js');
    await runRelayWorker();
    return;
  }
  const io = { stdout: process.stdout, stderr: process.stderr };
  const line = parseCommandLine(CLI, argv, io);
  if ('exit' in line) process.exit(line.exit);
  if (line.args._[0] === 'auth' || line.args._[0] === 'icetest') {
    // runtime/main.ts and tools/pod-main.ts take these before: this program has neither.
    fail(
      `${line.args._[0]} is not part of this program; run it as stunnerd ${line.args._[0]} (bin/stunnerd.mjs)`,
      ExitCode.USAGE,
    );
  }
  let args: CliArgs;
  try {
    args = cliArgs(line.args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(usageErrorText(CLI, argv, e.message));
    process.exit(ExitCode.USAGE);
  }
  // Before any logger exists: relay threads inherit it through the environment.
  if (args.logFormat !== undefined) setDefaultLogFormat(args.logFormat);
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(args);
  } catch (e) {
    if (e instanceof ConfigError) fail(`${e.source} is invalid:\n${formatProblems(e.problems)}`);
    if (e instanceof UsageError) fail(e.message, ExitCode.USAGE);
    if (e instanceof ManifestError) fail(e.message, e.naming ? ExitCode.USAGE : ExitCode.FAILED);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') fail(`cannot read ${err.path ?? 'config file'}: no such file`);
    fail(`cannot load config: ${err.message}`);
  }
  const config = loaded.config;
  if (args.uri !== undefined && isAllowAny(config.clusters.flatMap((c) => c.endpoints)))
    process.stderr.write(`stunnerd: ${OPEN_RELAY_WARNING}\n`);
  // Day-2 operations (health/metrics servers, hot reload, Kubernetes watchers, SIGTERM drain,
  // exit codes) are composed in runtime/process/stunnerd.ts.
  const logger = createLogger(args.logLevel ?? config.admin.loglevel);
  let daemon: StunnerdProcess;
  try {
    // Loaded only for a valid config: the day-2 modules (Kubernetes client, metrics) are heavy,
    // and a bad config should fail fast.
    const { runStunnerd } = await import('./stunnerd.js');
    // admin.threads > 1 (Node >= 22.12): relay threads start from the script this code is in (the
    // bundle), or in development from the launcher that registers the TypeScript loader.
    const self = fileURLToPath(import.meta.url);
    setRelayWorkerEntry(self.endsWith('.ts') ? process.argv[1] : self);
    daemon = await runStunnerd({
      config,
      ...(loaded.file !== undefined ? { configFile: loaded.file } : {}),
      logger,
      ...(args.logLevel !== undefined ? { logLevelOverride: args.logLevel } : {}),
      gracePeriodMs: args.gracePeriodS * 1000,
    });
  } catch (e) {
    if (e instanceof ConfigError) fail(`${e.source} is invalid:\n${formatProblems(e.problems)}`);
    fail((e as Error).message);
  }
  // Printed whatever the log level: launchers wait for it.
  process.stdout.write(
    `${formatLogLine(
      defaultLogFormat(),
      'INFO',
      'stunnerd',
      `stunnerd ready: ${config.listeners.map((l) => `${l.name}=${l.protocol}:${l.address}:${daemon.relay.listenerPort(l.name)}`).join(' ')}`,
    )}\n`,
  );
  process.exit(await daemon.done);
}
