/**
 * `stunnerd auth`: the ICE auth service.
 *
 *   stunnerd auth [-c <file|dir>]... [<file|dir>]... [-p 8088] [-a <address>] [-l all:INFO]
 *                 [--poll-interval 1000] [--public-address <ns/gateway>=<address>]...
 *                 [--watch-services [--kube-api-server <url> [--kube-token-file <path>]]]
 *                 [--max-ttl 86400] [--max-connections-per-ip 64]
 *
 * Prints one line containing `stunnerd auth ready` once it listens. SIGINT/SIGTERM stop it.
 */
import { readFileSync } from 'node:fs';
import { parsePort } from '../../contract/checks.js';
import {
  DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP,
  DEFAULT_ICE_AUTH_MAX_TTL,
  DEFAULT_ICE_AUTH_PORT,
} from '../../contract/defaults.js';
import { RuntimeEnv } from '../../contract/pod-env.js';
import { scanFlags } from '../args/flags.js';
import { makeKubeConfig } from '../cluster-watch/kube-config.js';
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

export const USAGE = `usage: stunnerd auth [options] [<config file or directory>...]
  -c, --config <path>          dataplane config file, or a directory of them (repeatable)
  -p, --port <port>            HTTP port (default ${DEFAULT_ICE_AUTH_PORT})
  -a, --address <address>      listen address (default all)
  -l, --log <spec>             log levels, e.g. all:INFO,ice:DEBUG (default all:INFO)
      --log-format text|json   log lines as text (default) or JSON objects (time, level,
                               component, message, fields); also $STUNNERD_LOG_FORMAT
      --api-key-file <path>    require this TURN REST API key as the "key" parameter
                               (the file's content, trimmed); without it "key" is ignored
      --max-ttl <seconds>      longest credential lifetime; a longer "ttl" gets this
                               (default ${DEFAULT_ICE_AUTH_MAX_TTL}, at most ${MAX_TTL})
      --max-connections-per-ip <n>
                               connections one client IP may hold; more are closed at
                               accept (default ${DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP}, at most ${MAX_CONNECTIONS})
      --poll-interval <ms>     how often configs are re-read (default 1000)
      --public-address <ns/gateway>=<address>
                               public address of a gateway (repeatable); a config's
                               public_address wins over it
      --watch-services         follow each gateway's public address from its Service
                               (namespace/name from admin.name) via the Kubernetes API
      --node-address-fallback  with --watch-services: when a Service has no load-balancer
                               address, answer with a node's ExternalIP and the NodePort
                               (reads Nodes: needs cluster-wide Node read)
      --kube-api-server <url>  API server for --watch-services (default: in-cluster),
                               e.g. http://127.0.0.1:8001 of kubectl proxy
      --kube-token-file <path> bearer token for --kube-api-server
  -h, --help                   this text
environment:
  ${RuntimeEnv.PUBLIC_ADDR}          the host of every returned URI (a request's public-addr wins)`;

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
  const paths: string[] = [];
  const publicAddresses = new Map<string, string>();
  let port = DEFAULT_ICE_AUTH_PORT;
  let address: string | undefined;
  let log = 'all:INFO';
  let logFormat: LogFormat | undefined;
  let apiKeyFile: string | undefined;
  let pollIntervalMs = 1000;
  let maxTtl = DEFAULT_ICE_AUTH_MAX_TTL;
  let maxConnectionsPerIp = DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP;
  let help = false;
  let watchServices = false;
  let nodeAddressFallback = false;
  let kubeApiServer: string | undefined;
  let kubeTokenFile: string | undefined;
  scanFlags(argv, (flag, value, arg) => {
    switch (flag) {
      case '-h':
      case '--help':
        help = true;
        break;
      case '-c':
      case '--config':
        paths.push(value());
        break;
      case '-p':
      case '--port': {
        const v = value();
        const p = parsePort(v);
        if (p === undefined) throw new Error(`${flag}: "${v}" is not a valid port`);
        port = p;
        break;
      }
      case '-a':
      case '--address':
        address = value();
        break;
      case '-l':
      case '--log':
        log = value();
        break;
      case '--log-format':
        logFormat = parseLogFormat(value());
        break;
      case '--api-key-file':
        apiKeyFile = value();
        break;
      case '--poll-interval': {
        const v = value();
        pollIntervalMs = Number(v);
        if (!/^[0-9]+$/.test(v) || pollIntervalMs < 100) {
          throw new Error(`${flag}: "${v}" is not valid; expected milliseconds, at least 100`);
        }
        break;
      }
      case '--max-ttl': {
        const v = value();
        maxTtl = Number(v);
        if (!/^[0-9]{1,10}$/.test(v) || maxTtl < 1 || maxTtl > MAX_TTL)
          throw new Error(`${flag}: "${v}" is not valid; expected whole seconds from 1 to ${MAX_TTL}`);
        break;
      }
      case '--max-connections-per-ip': {
        const v = value();
        maxConnectionsPerIp = Number(v);
        if (!/^[0-9]{1,10}$/.test(v) || maxConnectionsPerIp < 1 || maxConnectionsPerIp > MAX_CONNECTIONS)
          throw new Error(
            `${flag}: "${v}" is not valid; expected a whole number from 1 to ${MAX_CONNECTIONS}`,
          );
        break;
      }
      case '--public-address': {
        const v = value();
        const at = v.indexOf('=');
        if (at <= 0 || at === v.length - 1)
          throw new Error(`${flag}: "${v}" is not <namespace/gateway>=<address>`);
        publicAddresses.set(v.slice(0, at), v.slice(at + 1));
        break;
      }
      case '--watch-services':
        watchServices = true;
        break;
      case '--node-address-fallback':
        nodeAddressFallback = true;
        break;
      case '--kube-api-server':
        kubeApiServer = value();
        break;
      case '--kube-token-file':
        kubeTokenFile = value();
        break;
      default:
        if (arg.startsWith('-')) throw new Error(`unknown option ${flag}`);
        paths.push(arg);
    }
  });
  if (paths.length === 0 && !help) throw new Error('no config given; pass a file or directory (-c <path>)');
  if (kubeApiServer !== undefined && !watchServices)
    throw new Error('--kube-api-server needs --watch-services');
  if (nodeAddressFallback && !watchServices)
    throw new Error('--node-address-fallback needs --watch-services');
  if (kubeTokenFile !== undefined && kubeApiServer === undefined) {
    throw new Error('--kube-token-file needs --kube-api-server');
  }
  return {
    paths,
    port,
    address,
    log,
    logFormat,
    apiKeyFile,
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
  let args: AuthCliArgs;
  try {
    args = parseAuthArgs(argv);
    if (args.help) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    createLogger(args.log); // validates the spec before anything starts
  } catch (e) {
    process.stderr.write(`stunnerd auth: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(1);
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
      const token =
        args.kubeTokenFile === undefined ? undefined : readFileSync(args.kubeTokenFile, 'utf8').trim();
      const kubeConfig = makeKubeConfig(
        args.kubeApiServer === undefined ? {} : { server: args.kubeApiServer, ...(token ? { token } : {}) },
      );
      services = new GatewayServiceWatch({
        kubeConfig,
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
