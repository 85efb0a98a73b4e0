/**
 * `stunnerd`: serve TURN from a config file (`-c file`) or a one-line URI
 * (`turn://user:pass@host:port[?transport=tcp]`). A bad config prints every problem and exits 1.
 * Prints one line containing `stunnerd ready` once every listener is bound. SIGTERM drains
 * (new allocations refused, existing ones served until they end or the grace period runs out);
 * SIGINT stops at once. Both exit 0.
 */
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  type ConfigProblem,
  formatProblems,
  loadConfigFile,
  parseConfig,
  type StunnerConfig,
} from '../../contract/config/index.js';
import { DEFAULT_PORT } from '../../contract/defaults.js';
import { unsupportedProblems } from '../../contract/support.js';
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

const USAGE = `usage: stunnerd -c <config.yaml> [-l <loglevel>] [--grace-period <seconds>]
       stunnerd turn://<user>:<pass>@<address>:<port>[?transport=udp|tcp] [-l <loglevel>]
  -c, --config <file>     STUNner v1 dataplane config (YAML or JSON)
  -l, --log <spec>        log levels, e.g. all:INFO,turn:DEBUG (overrides admin.loglevel)
  --log-format text|json  log lines as text (default) or JSON objects (time, level, component,
                          message, fields); also $STUNNERD_LOG_FORMAT
  --grace-period <s>      on SIGTERM, serve existing allocations at most this long (default 3600)
  -h, --help              this text`;

export class UsageError extends Error {}

export interface CliArgs {
  readonly configFile?: string;
  readonly uri?: string;
  readonly logLevel?: string;
  readonly logFormat?: LogFormat;
  readonly gracePeriodS: number;
  readonly help: boolean;
}

export function parseArgs(argv: readonly string[]): CliArgs {
  let configFile: string | undefined;
  let uri: string | undefined;
  let logLevel: string | undefined;
  let logFormat: LogFormat | undefined;
  let gracePeriodS = 3600;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '-c' || a === '--config') configFile = value();
    else if (a.startsWith('--config=')) configFile = a.slice(9);
    else if (a === '-l' || a === '--log') logLevel = value();
    else if (a.startsWith('--log=')) logLevel = a.slice(6);
    else if (a === '--log-format' || a.startsWith('--log-format=')) {
      const v = a === '--log-format' ? value() : a.slice('--log-format='.length);
      try {
        logFormat = parseLogFormat(v);
      } catch (e) {
        throw new UsageError(`--log-format: ${(e as Error).message}`);
      }
    } else if (a === '--grace-period') {
      const v = value();
      if (!/^[0-9]+$/.test(v)) throw new UsageError(`--grace-period: "${v}" is not a number of seconds`);
      gracePeriodS = Number(v);
    } else if (a === '-h' || a === '--help') help = true;
    else if (/^turns?:\/\//.test(a)) {
      if (uri !== undefined) throw new UsageError('only one turn:// URI may be given');
      uri = a;
    } else throw new UsageError(`unknown argument "${a}"`);
  }
  if (!help && configFile === undefined && uri === undefined) {
    throw new UsageError('give a config file (-c <file>) or a turn://user:pass@address:port URI');
  }
  if (configFile !== undefined && uri !== undefined)
    throw new UsageError('give either -c <file> or a URI, not both');
  if (logLevel !== undefined) {
    try {
      parseLevelSpec(logLevel);
    } catch (e) {
      throw new UsageError(`-l: ${(e as Error).message}`);
    }
  }
  return {
    gracePeriodS,
    help,
    ...(configFile !== undefined ? { configFile } : {}),
    ...(uri !== undefined ? { uri } : {}),
    ...(logLevel !== undefined ? { logLevel } : {}),
    ...(logFormat !== undefined ? { logFormat } : {}),
  };
}

/**
 * The one-line form, as STUNner's: a listener on the URI's address and port, static credentials
 * from its user info, and a route to an allow-any cluster (the perimeter still keeps 0.0.0.0/8,
 * multicast and the gateway's own listener ports closed).
 */
export function configFromUri(uri: string): StunnerConfig {
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
          routes: ['allow-any'],
        },
      ],
      clusters: [{ name: 'allow-any', type: 'STATIC', endpoints: ['0.0.0.0/0', '::/0'] }],
    },
    { source: 'command line' },
  );
}

function fail(message: string): never {
  process.stderr.write(`stunnerd: ${message}\n`);
  process.exit(1);
}

async function loadConfig(args: CliArgs): Promise<StunnerConfig> {
  const config =
    args.configFile !== undefined ? await loadConfigFile(args.configFile) : configFromUri(args.uri!);
  const problems = unsupportedProblems(config);
  if (problems.length > 0) throw new ConfigError(problems, args.configFile ?? 'command line');
  return config;
}

export async function main(argv: string[]): Promise<void> {
  if (isRelayWorker()) {
    // A relay thread of admin.threads > 1, started from this same entry point.
    const { runRelayWorker } = await import('../relay/worker.js');
    await runRelayWorker();
    return;
  }
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) fail(`${e.message}\n${USAGE}`);
    throw e;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  // Before any logger exists: relay threads inherit it through the environment.
  if (args.logFormat !== undefined) setDefaultLogFormat(args.logFormat);
  let config: StunnerConfig;
  try {
    config = await loadConfig(args);
  } catch (e) {
    if (e instanceof ConfigError) fail(`${e.source} is invalid:\n${formatProblems(e.problems)}`);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') fail(`cannot read config file ${args.configFile}: no such file`);
    fail(`cannot load config: ${err.message}`);
  }
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
      ...(args.configFile !== undefined ? { configFile: args.configFile } : {}),
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
