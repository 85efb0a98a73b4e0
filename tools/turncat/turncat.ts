/**
 * `turncat <client> <server> <peer>`: tunnels local traffic through a TURN gateway to a peer.
 *   client  `-` (stdin/stdout), `udp://addr:port` (one allocation per source address),
 *           `tcp://addr:port` (one allocation per connection)
 *   server  turn://, turns://, file://<config>#<listener>, k8s://<ns>/<gateway>:<listener>
 *   peer    udp://ip:port
 * Exit codes (contract/exit-codes.ts): 0 done (Ctrl-C or end of input), 1 the tunnel failed
 * (unreachable, 401, 403, a file it cannot read), 2 usage. Errors are one line on stderr.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP, createServer as netServer, type Server, type Socket } from 'node:net';
import { ExitCode } from '../../contract/exit-codes.js';
import {
  type Argv,
  type CommandLine,
  completionCommand,
  lastValue,
  type Parsed,
  parseCommandLine,
  UsageError,
  usageErrorText,
  valued,
} from '../../runtime/args/cli.js';
import { createLogger, type ScopedLogger } from '../../runtime/log/logger.js';
import { printable, printableLines } from '../../runtime/log/printable.js';
import { reasonPhrase } from '../../runtime/stun/constants.js';
import type { TransportAddress } from '../../runtime/stun/index.js';
import { TurnClient, TurnError, TurnUnreachableError } from '../client/turn-client.js';
import { parseUdpAddress, TargetError, type TurnTarget } from '../target/target.js';
import { resolveTurnTarget } from './server.js';

export const TURNCAT_DESCRIPTION = `Tunnels local traffic through a TURN gateway to a peer.
  <client>   -                   stdin/stdout
             udp://<addr>:<port> a local UDP listener (one allocation per source address)
             tcp://<addr>:<port> a local TCP listener (one allocation per connection)
  <server>   turn://<user>:<pass>@<host>:<port>[?transport=udp|tcp]
             turns://<user>:<pass>@<host>:<port>           (TURN-TLS)
             file://<dataplane config or dist YAML>#<listener>
             k8s://<namespace>/<gateway>:<listener>
  <peer>     udp://<ip>:<port>`;

export const TURNCAT_EXIT_CODES =
  'exit codes (docs/cli.md): 0 done (Ctrl-C or end of input), 1 the tunnel failed (unreachable, 401, 403, a file it cannot read, ...), 2 usage';

/** turncat's command line (yargs, runtime/args/cli.ts). */
export const CLI: CommandLine = {
  tool: 'turncat',
  usage: 'usage: $0 [options] <client> <server> <peer>',
  epilog: `${TURNCAT_DESCRIPTION}\n\n${TURNCAT_EXIT_CODES}`,
  build: (y: Argv) =>
    completionCommand(
      y
        .command('$0 <client> <server> <peer>', false, (c) =>
          c
            .positional('client', {
              type: 'string',
              describe: '-, udp://<addr>:<port> or tcp://<addr>:<port>',
            })
            .positional('server', { type: 'string', describe: 'turn://, turns://, file:// or k8s://' })
            .positional('peer', { type: 'string', describe: 'udp://<ip>:<port>' }),
        )
        .option('insecure', { type: 'boolean', describe: 'TLS: do not verify the server certificate' })
        .option('sni', valued('TLS: server name to send and verify'))
        .option(
          'secret-file',
          valued(
            'credentials when the config names a Secret (a Secret YAML, or username/password or secret keys)',
          ),
        )
        .option('user-id', valued('user id of minted ephemeral credentials (default turncat)'))
        .option(
          'public-address',
          valued(
            "dial this host instead of the listener's public address (file://, k8s://), as icetest --address",
          ),
        )
        .option('kubeconfig', valued('kubeconfig for k8s:// (default $KUBECONFIG, ~/.kube/config)'))
        .option('context', valued('kubeconfig context for k8s://'))
        .option('timeout', valued('longest wait for any one TURN answer, in ms (default 5000)'))
        .option(
          'linger',
          valued("with '-': how long to wait for replies after the end of input, in ms (default 1000)"),
        )
        .option('log', { ...valued('log levels on stderr, e.g. all:INFO (default all:WARN)'), alias: 'l' }),
    ),
};

export interface TurncatArgs {
  readonly client: string;
  readonly server: string;
  readonly peer: TransportAddress;
  readonly insecure: boolean;
  readonly sni?: string;
  readonly secretFile?: string;
  readonly userId?: string;
  readonly publicAddress?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly timeoutMs: number;
  readonly lingerMs: number;
  readonly log: string;
}

export { UsageError } from '../../runtime/args/cli.js';

function parseMs(flag: string, v: string): number {
  if (!/^[0-9]{1,7}$/.test(v)) throw new UsageError(`${flag}: "${v}" is not a number of milliseconds`);
  return Number(v);
}

/** The parsed command line into a tunnel's arguments; throws UsageError (or TargetError). */
export function turncatArgs(a: Parsed): TurncatArgs {
  const client = String(a.client);
  const server = String(a.server);
  const userId = lastValue(a['user-id']);
  if (userId !== undefined && !/^[^\s:]+$/.test(userId))
    throw new UsageError('--user-id may not contain spaces or ":"');
  const timeoutText = lastValue(a.timeout);
  const timeoutMs = timeoutText === undefined ? 5000 : parseMs('--timeout', timeoutText);
  if (timeoutMs < 100) throw new UsageError('--timeout must be at least 100 ms');
  const lingerText = lastValue(a.linger);
  const lingerMs = lingerText === undefined ? 1000 : parseMs('--linger', lingerText);
  const log = lastValue(a.log) ?? 'all:WARN';
  if (client !== '-' && !/^(udp|tcp):\/\//.test(client)) {
    throw new UsageError(`client "${client}" is not -, udp://<addr>:<port> or tcp://<addr>:<port>`);
  }
  try {
    createLogger(log);
  } catch (e) {
    throw new UsageError(`--log: ${(e as Error).message}`);
  }
  const publicAddress = lastValue(a['public-address']);
  if (publicAddress !== undefined && /^turns?:\/\//.test(server))
    throw new UsageError('--public-address is for file:// and k8s://; a turn:// URI names its host');
  const opt = (k: string, v: string | undefined) => (v !== undefined ? { [k]: v } : {});
  return {
    client,
    server,
    peer: parseUdpAddress(String(a.peer), 'peer'),
    insecure: a.insecure === true,
    timeoutMs,
    lingerMs,
    log,
    ...opt('sni', lastValue(a.sni)),
    ...opt('secretFile', lastValue(a['secret-file'])),
    ...opt('userId', userId),
    ...opt('publicAddress', publicAddress),
    ...opt('kubeconfig', lastValue(a.kubeconfig)),
    ...opt('context', lastValue(a.context)),
  };
}

/**
 * One line saying what failed, naming the user and realm on 401 and the listener on 403. The
 * REALM and reason come from the server: the line is printable (no escape sequence reaches the
 * terminal, no newline forges a line).
 */
export function describeFailure(e: unknown, target: TurnTarget, peer: TransportAddress): string {
  return printable(failureText(e, target, peer));
}

function failureText(e: unknown, target: TurnTarget, peer: TransportAddress): string {
  if (e instanceof TurnError) {
    if (e.code === 401) {
      return `authentication failed (401 ${e.reason || reasonPhrase(401)}): user "${target.username}" in realm "${e.realm ?? target.realm ?? '?'}" was not accepted by ${target.host}:${target.port}`;
    }
    if (e.code === 403) {
      return `peer ${fmt(peer)} is outside the routes of listener "${target.listener}" (403 ${e.reason || reasonPhrase(403)}): the gateway only relays to the clusters its routes attach`;
    }
    if (e.code === 486) return `allocation quota reached (486) for user "${target.username}"`;
    if (e.code === 508) return `the gateway has no capacity for another allocation (508)`;
    return e.message;
  }
  if (e instanceof TurnUnreachableError)
    return `${target.host}:${target.port}/${target.transport} is unreachable: ${e.message}`;
  return (e as Error).message;
}

function fmt(a: TransportAddress): string {
  return a.family === 6 ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** One allocation with a channel to the peer. */
export async function openTunnel(
  target: TurnTarget,
  peer: TransportAddress,
  opts: { insecure: boolean; sni?: string; timeoutMs: number },
): Promise<TurnClient> {
  const client = await TurnClient.connect({
    host: target.host,
    port: target.port,
    transport: target.transport,
    username: target.username,
    password: target.password,
    insecure: opts.insecure,
    timeoutMs: opts.timeoutMs,
    connectTimeoutMs: opts.timeoutMs,
    ...(opts.sni !== undefined ? { servername: opts.sni } : {}),
  });
  try {
    await client.allocate();
    await client.channelBind(peer);
  } catch (e) {
    await client.close({ timeoutMs: 1000 });
    throw e;
  }
  return client;
}

interface Running {
  /** Resolves with the exit code when the tunnel ends on its own (end of input, failure). */
  readonly done: Promise<number>;
  /** Ctrl-C: Refresh(0) for every allocation, then done resolves. */
  stop(): Promise<void>;
}

const MAX_UDP_SOURCES = 1024;
const MAX_DATAGRAM = 65_000;

export interface TurncatIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Starts the tunnel; resolves once the client side listens (or, for '-', the allocation is up). */
export async function startTurncat(
  args: TurncatArgs,
  target: TurnTarget,
  io: TurncatIo,
  log: ScopedLogger,
): Promise<Running> {
  const tunnelOpts = {
    insecure: args.insecure,
    timeoutMs: args.timeoutMs,
    ...(args.sni !== undefined ? { sni: args.sni } : {}),
  };
  const clients = new Set<TurnClient>();
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });
  const closeAll = async () => {
    await Promise.all([...clients].map((c) => c.close({ timeoutMs: 2000 })));
    clients.clear();
  };

  if (args.client === '-') {
    const c = await openTunnel(target, args.peer, tunnelOpts);
    clients.add(c);
    log.info(`relayed address ${fmt(c.allocation!.relayed)}, peer ${fmt(args.peer)}`);
    c.onData((_p, data) => io.stdout.write(Buffer.from(data)));
    c.onRefreshError((e) => log.warn(`refresh failed: ${describeFailure(e, target, args.peer)}`));
    c.onClose((reason) => {
      if (reason !== 'closed') {
        io.stderr.write(`turncat: ${printable(reason)}\n`);
        resolveDone(1);
      }
    });
    io.stdin.on('data', (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      for (let off = 0; off < b.length; off += MAX_DATAGRAM)
        c.send(args.peer, b.subarray(off, off + MAX_DATAGRAM));
    });
    io.stdin.on('end', () => {
      setTimeout(() => {
        void closeAll().then(() => resolveDone(0));
      }, args.lingerMs).unref();
    });
    return {
      done,
      stop: async () => {
        await closeAll();
        resolveDone(0);
      },
    };
  }

  const u = /^(udp|tcp):\/\/(\[[^\]]+\]|[^:/]+):([0-9]{1,5})$/.exec(args.client);
  if (!u) throw new UsageError(`client "${args.client}" is not udp://<addr>:<port> or tcp://<addr>:<port>`);
  const host = u[2]!.replace(/^\[(.*)\]$/, '$1');
  const port = Number(u[3]);

  if (u[1] === 'udp') {
    const sock: UdpSocket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => {
        sock.off('error', reject);
        resolve();
      });
    }).catch((e: Error) => {
      throw new UsageError(`cannot listen on ${args.client}: ${e.message}`);
    });
    sock.on('error', (e) => log.warn(`local UDP socket: ${e.message}`));
    const bySource = new Map<string, { client?: TurnClient; queue: Buffer[]; failed?: boolean }>();
    sock.on('message', (msg, from) => {
      const key = `${from.address}|${from.port}`;
      let s = bySource.get(key);
      if (s === undefined) {
        if (bySource.size >= MAX_UDP_SOURCES) {
          log.warn(`dropping datagram from ${from.address}:${from.port}: ${MAX_UDP_SOURCES} sources already`);
          return;
        }
        const entry: { client?: TurnClient; queue: Buffer[]; failed?: boolean } = { queue: [msg] };
        s = entry;
        bySource.set(key, entry);
        openTunnel(target, args.peer, tunnelOpts).then(
          (c) => {
            clients.add(c);
            entry.client = c;
            log.info(`source ${from.address}:${from.port}: relayed address ${fmt(c.allocation!.relayed)}`);
            c.onData((_p, data) => sock.send(data, from.port, from.address));
            c.onClose(() => {
              clients.delete(c);
              bySource.delete(key);
            });
            for (const q of entry.queue.splice(0)) c.send(args.peer, q);
          },
          (e) => {
            entry.failed = true;
            entry.queue.length = 0;
            io.stderr.write(`turncat: ${describeFailure(e, target, args.peer)}\n`);
            // The tunnel cannot work for anyone: the server, credentials or route are wrong.
            void closeAll().then(() => {
              sock.close();
              resolveDone(1);
            });
          },
        );
        return;
      }
      if (s.failed) return;
      if (s.client) s.client.send(args.peer, msg);
      else if (s.queue.length < 256) s.queue.push(msg);
    });
    return {
      done,
      stop: async () => {
        await closeAll();
        try {
          sock.close();
        } catch {
          // closed
        }
        resolveDone(0);
      },
    };
  }

  const conns = new Set<Socket>();
  const server: Server = netServer((conn) => {
    conns.add(conn);
    conn.pause();
    conn.on('error', () => {});
    openTunnel(target, args.peer, tunnelOpts).then(
      (c) => {
        clients.add(c);
        log.info(
          `connection ${conn.remoteAddress}:${conn.remotePort}: relayed address ${fmt(c.allocation!.relayed)}`,
        );
        c.onData((_p, data) => conn.write(Buffer.from(data)));
        c.onClose(() => {
          clients.delete(c);
          conn.destroy();
        });
        conn.on('data', (d: Buffer) => {
          for (let off = 0; off < d.length; off += MAX_DATAGRAM)
            c.send(args.peer, d.subarray(off, off + MAX_DATAGRAM));
        });
        conn.on('close', () => {
          conns.delete(conn);
          clients.delete(c);
          void c.close({ timeoutMs: 2000 });
        });
        conn.resume();
      },
      (e) => {
        io.stderr.write(`turncat: ${describeFailure(e, target, args.peer)}\n`);
        conns.delete(conn);
        conn.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: Error) => {
    throw new UsageError(`cannot listen on ${args.client}: ${e.message}`);
  });
  return {
    done,
    stop: async () => {
      server.close();
      for (const c of conns) c.destroy();
      await closeAll();
      resolveDone(0);
    },
  };
}

/** The CLI: returns the exit code. Ctrl-C (SIGINT) and SIGTERM send Refresh(0) and exit 0. */
export async function main(
  argv: string[],
  io: TurncatIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
  opts: { onReady?: (stop: () => Promise<void>) => void; signals?: boolean } = {},
): Promise<number> {
  const line = parseCommandLine(CLI, argv, io);
  if ('exit' in line) return line.exit;
  let args: TurncatArgs;
  try {
    args = turncatArgs(line.args);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof TargetError)) throw e;
    io.stderr.write(usageErrorText(CLI, argv, (e as Error).message));
    return ExitCode.USAGE;
  }
  const log = createLogger(args.log, (line) => io.stderr.write(`${printableLines(line)}\n`)).scope('turncat');
  let target: TurnTarget;
  try {
    target = await resolveTurnTarget(args.server, {
      ...(args.secretFile !== undefined ? { secretFile: args.secretFile } : {}),
      ...(args.userId !== undefined ? { userId: args.userId } : {}),
      ...(args.publicAddress !== undefined ? { host: args.publicAddress } : {}),
      ...(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}),
      ...(args.context !== undefined ? { context: args.context } : {}),
    });
  } catch (e) {
    io.stderr.write(`turncat: ${printable((e as Error).message)}\n`);
    return e instanceof TargetError && e.usage ? ExitCode.USAGE : ExitCode.FAILED;
  }
  log.info(
    `server ${target.host}:${target.port}/${target.transport} (listener ${target.listener}), user ${target.username}`,
  );
  let running: Running;
  try {
    running = await startTurncat(args, target, io, log);
  } catch (e) {
    io.stderr.write(`turncat: ${describeFailure(e, target, args.peer)}\n`);
    return e instanceof UsageError ? ExitCode.USAGE : ExitCode.FAILED;
  }
  const onSignal = () => {
    void running.stop();
  };
  if (opts.signals ?? true) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  opts.onReady?.(running.stop);
  const code = await running.done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return code;
}
