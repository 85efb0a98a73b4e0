/**
 * `stunnerd auth`: the ICE auth service.
 *
 *   stunnerd auth [-c <file|dir>]... [<file|dir>]... [-p 8088] [-a <address>] [-l all:INFO]
 *                 [--poll-interval 1000] [--public-address <ns/gateway>=<address>]...
 *                 [--watch-services [--kube-api-server <url> [--kube-token-file <path>]]]
 *                 [--max-ttl 86400] [--max-connections-per-ip 64]
 *
 * Exit codes (contract/exit-codes.ts): 2 for a bad command line, 1 when it cannot start.
 * Prints one line containing `stunnerd auth ready` once it listens. SIGINT/SIGTERM stop it.
 */
import { readFileSync } from 'node:fs';
import { parsePort } from '../../contract/checks.js';
import {
  DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP,
  DEFAULT_ICE_AUTH_MAX_TTL,
  DEFAULT_ICE_AUTH_PORT,
} from '../../contract/defaults.js';
import { ExitCode } from '../../contract/exit-codes.js';
import { RuntimeEnv } from '../../contract/pod-env.js';
import {
  type Argv,
  allValues,
  type CommandLine,
  lastValue,
  type Parsed,
  parseArgv,
  parseCommandLine,
  UsageError,
  usageErrorText,
  valued,
} from '../args/cli.js';
import { makeKubeApi } from '../cluster-watch/kube-config.js';
import {
  createLogger,
  defaultLogFormat,
  formatLogLine,
  type LogFormat,
  parseLogFormat,
  setDefaultLogFormat,
} from '../log/logger.js';
import { ConfigFiles } from './config-files.js';
import { MAX_TTL } from './query.js';
import { IceAuthServer, MAX_CONNECTIONS } from './server.js';
import { GatewayServiceWatch } from './service-watch.js';

/** `stunnerd auth`'s command line (yargs, runtime/args/cli.ts). */
export const CLI: CommandLine = {
  tool: 'stunnerd auth',
  completionName: 'stunnerd',
  usage: `usage: stunnerd auth [options] [<config file or directory>...]

The ICE auth service: GET /ice (STUNner's ICE configuration) and the TURN REST API, from the gateways' dataplane configs.`,
  epilog: `environment:
  ${RuntimeEnv.PUBLIC_ADDR}  the host of every returned URI (a request's public-addr wins)

exit codes (docs/cli.md): 0 stopped by SIGTERM/SIGINT, 1 cannot start (port in use, unreadable key file), 2 usage`,
  build: (y: Argv) =>
    y
      .command('$0 [paths..]', false, (c) =>
        c.positional('paths', {
          type: 'string',
          array: true,
          describe: 'dataplane config files or directories',
        }),
      )
      .option('config', {
        ...valued('dataplane config file, or a directory of them (repeatable)'),
        alias: 'c',
      })
      .option('port', { ...valued(`HTTP port (default ${DEFAULT_ICE_AUTH_PORT})`), alias: 'p' })
      .option('address', { ...valued('listen address (default all)'), alias: 'a' })
      .option('log', { ...valued('log levels, e.g. all:INFO,ice:DEBUG (default all:INFO)'), alias: 'l' })
      .option(
        'log-format',
        valued('log lines as text (default) or JSON objects; also $STUNNERD_LOG_FORMAT', {
          choices: ['text', 'json'],
        }),
      )
      .option(
        'api-key-file',
        valued(
          'require this TURN REST API key as the "key" parameter (the file\'s content, trimmed); without it "key" is ignored',
        ),
      )
      .option(
        'max-ttl',
        valued(
          `longest credential lifetime in seconds; a longer "ttl" gets this (default ${DEFAULT_ICE_AUTH_MAX_TTL}, at most ${MAX_TTL})`,
        ),
      )
      .option(
        'max-connections-per-ip',
        valued(
          `connections one client IP may hold; more are closed at accept (default ${DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP}, at most ${MAX_CONNECTIONS})`,
        ),
      )
      .option('poll-interval', valued('how often configs are re-read, in ms (default 1000)'))
      .option(
        'public-address',
        valued(
          "<ns/gateway>=<address>: public address of a gateway (repeatable); a config's public_address wins over it",
        ),
      )
      .option('watch-services', {
        type: 'boolean',
        describe:
          "follow each gateway's public address from its Service (namespace/name from admin.name) via the Kubernetes API",
      })
      .option('node-address-fallback', {
        type: 'boolean',
        describe:
          "with --watch-services: when a Service has no load-balancer address, answer with a node's ExternalIP and the NodePort (reads Nodes: needs cluster-wide Node read)",
      })
      .option(
        'kube-api-server',
        valued(
          'API server for --watch-services (default: in-cluster), e.g. http://127.0.0.1:8001 of kubectl proxy',
        ),
      )
      .option('kube-token-file', valued('bearer token for --kube-api-server')),
};

export interface AuthCliArgs {
  readonly paths: string[];
  readonly port: number;
  readonly address: string | undefined;
  readonly log: string;
  readonly logFormat: LogFormat | undefined;
  readonly apiKeyFile: string | undefined;
  readonly pollIntervalMs: number;
  readonly maxTtl: number;
  readonly maxConnectionsPerIp: number;
  readonly publicAddresses: Map<string, string>;
  readonly watchServices: boolean;
  /** Read Nodes for the NodePort fallback (needs the Node-reader ClusterRole). */
  readonly nodeAddressFallback: boolean;
  readonly kubeApiServer: string | undefined;
  readonly kubeTokenFile: string | undefined;
  readonly help: boolean;
}

/** Parses the arguments; throws an Error whose message says which argument is wrong and why. */
export function parseAuthArgs(argv: readonly string[]): AuthCliArgs {
  const r = parseArgv(CLI, argv);
  if (r.kind === 'error') throw new UsageError(r.message);
  const help = r.kind === 'output';
  const a: Parsed = r.kind === 'args' ? r.args : { _: [] };
  const typed = r.kind === 'args' ? r.typed : (n: string) => `--${n}`;
  const paths = [...allValues(a.config), ...allValues(a.paths)];
  const publicAddresses = new Map<string, string>();
  const whole = (
    name: string,
    text: string | undefined,
    dflt: number,
    min: number,
    max: number,
    what: string,
  ) => {
    if (text === undefined) return dflt;
    const n = Number(text);
    if (!/^[0-9]{1,10}$/.test(text) || n < min || n > max)
      throw new UsageError(`${typed(name)}: "${text}" is not valid; expected ${what}`);
    return n;
  };
  const portText = lastValue(a.port);
  let port = DEFAULT_ICE_AUTH_PORT;
  if (portText !== undefined) {
    const p = parsePort(portText);
    if (p === undefined) throw new UsageError(`${typed('port')}: "${portText}" is not a valid port`);
    port = p;
  }
  const logFormatText = lastValue(a['log-format']);
  const pollText = lastValue(a['poll-interval']);
  const pollIntervalMs = pollText === undefined ? 1000 : Number(pollText);
  if (pollText !== undefined && (!/^[0-9]+$/.test(pollText) || pollIntervalMs < 100))
    throw new UsageError(`--poll-interval: "${pollText}" is not valid; expected milliseconds, at least 100`);
  const maxTtl = whole(
    'max-ttl',
    lastValue(a['max-ttl']),
    DEFAULT_ICE_AUTH_MAX_TTL,
    1,
    MAX_TTL,
    `whole seconds from 1 to ${MAX_TTL}`,
  );
  const maxConnectionsPerIp = whole(
    'max-connections-per-ip',
    lastValue(a['max-connections-per-ip']),
    DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP,
    1,
    MAX_CONNECTIONS,
    `a whole number from 1 to ${MAX_CONNECTIONS}`,
  );
  for (const v of allValues(a['public-address'])) {
    const at = v.indexOf('=');
    if (at <= 0 || at === v.length - 1)
      throw new UsageError(`--public-address: "${v}" is not <namespace/gateway>=<address>`);
    publicAddresses.set(v.slice(0, at), v.slice(at + 1));
  }
  const watchServices = a['watch-services'] === true;
  const nodeAddressFallback = a['node-address-fallback'] === true;
  const kubeApiServer = lastValue(a['kube-api-server']);
  const kubeTokenFile = lastValue(a['kube-token-file']);
  if (paths.length === 0 && !help)
    throw new UsageError('no config given; pass a file or directory (-c <path>)');
  if (kubeApiServer !== undefined && !watchServices)
    throw new UsageError('--kube-api-server needs --watch-services');
  if (nodeAddressFallback && !watchServices)
    throw new UsageError('--node-address-fallback needs --watch-services');
  if (kubeTokenFile !== undefined && kubeApiServer === undefined) {
    throw new UsageError('--kube-token-file needs --kube-api-server');
  }
  return {
    paths,
    port,
    address: lastValue(a.address),
    log: lastValue(a.log) ?? 'all:INFO',
    logFormat: logFormatText === undefined ? undefined : parseLogFormat(logFormatText),
    apiKeyFile: lastValue(a['api-key-file']),
    pollIntervalMs,
    maxTtl,
    maxConnectionsPerIp,
    publicAddresses,
    watchServices,
    nodeAddressFallback,
    kubeApiServer,
    kubeTokenFile,
    help,
  };
}

export async function main(argv: string[]): Promise<void> {
  // --help, --version and completion print and exit 0; a bad command line exits 2.
  const line = parseCommandLine(CLI, argv, { stdout: process.stdout, stderr: process.stderr });
  if ('exit' in line) process.exit(line.exit);
  let args: AuthCliArgs;
  try {
    args = parseAuthArgs(argv);
    createLogger(args.log); // validates the spec before anything starts
  } catch (e) {
    process.stderr.write(usageErrorText(CLI, argv, (e as Error).message));
    process.exit(ExitCode.USAGE);
  }
  if (args.logFormat !== undefined) setDefaultLogFormat(args.logFormat);
  const log = createLogger(args.log).scope('ice');
  let server: IceAuthServer;
  try {
    const envAddress = process.env[RuntimeEnv.PUBLIC_ADDR]?.trim();
    let apiKey: string | undefined;
    if (args.apiKeyFile !== undefined) {
      try {
        apiKey = readFileSync(args.apiKeyFile, 'utf8').trim();
      } catch (e) {
        throw new Error(`--api-key-file: cannot read ${args.apiKeyFile}: ${(e as Error).message}`);
      }
      if (apiKey === '') throw new Error(`--api-key-file: ${args.apiKeyFile} is empty`);
    }
    server = new IceAuthServer({
      logger: log,
      maxTtl: args.maxTtl,
      maxConnectionsPerIp: args.maxConnectionsPerIp,
      ...(envAddress ? { publicAddress: envAddress } : {}),
      ...(apiKey !== undefined ? { apiKey } : {}),
    });
  } catch (e) {
    const m = (e as Error).message;
    process.stderr.write(`stunnerd auth: ${m.startsWith('--') ? m : `${RuntimeEnv.PUBLIC_ADDR}: ${m}`}\n`);
    process.exit(1);
  }
  try {
    for (const [gw, addr] of args.publicAddresses) server.setPublicAddress(gw, addr);
  } catch (e) {
    process.stderr.write(`stunnerd auth: --public-address: ${(e as Error).message}\n`);
    process.exit(1);
  }
  let services: GatewayServiceWatch | undefined;
  if (args.watchServices) {
    try {
      // The token file is re-read before every request: a projected token rotates.
      const api = makeKubeApi(
        args.kubeApiServer === undefined
          ? {}
          : {
              server: args.kubeApiServer,
              ...(args.kubeTokenFile !== undefined && { tokenFile: args.kubeTokenFile }),
            },
      );
      services = new GatewayServiceWatch({
        api,
        log: createLogger(args.log).scope('watch'),
        setPublicAddress: (gw, addr, ports) => server.setPublicAddress(gw, addr, ports),
        nodeFallback: args.nodeAddressFallback,
      });
    } catch (e) {
      process.stderr.write(`stunnerd auth: --watch-services: ${(e as Error).message}\n`);
      process.exit(1);
    }
  }
  const files = new ConfigFiles({
    paths: args.paths,
    logger: log,
    pollIntervalMs: args.pollIntervalMs,
    onChange: (configs) => {
      server.setConfigs(configs.values());
      services?.sync(configs.values());
    },
  });
  await files.start();
  if (server.configCount() === 0)
    log.warn(`no valid config found in ${args.paths.join(', ')} yet; answering 500`);
  let bound: Awaited<ReturnType<IceAuthServer['listen']>>;
  try {
    bound = await server.listen(args.port, args.address);
  } catch (e) {
    process.stderr.write(`stunnerd auth: cannot listen on port ${args.port}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(
    `${formatLogLine(defaultLogFormat(), 'INFO', 'ice', `stunnerd auth ready on ${bound.address}:${bound.port}`)}\n`,
  );
  const stop = () => {
    files.stop();
    services?.stop();
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
