/**
 * `stunnerctl icetest` / `stunnerd icetest`: an end-to-end check of a gateway from where the user
 * sits. Over each TURN-UDP and TURN-TCP listener (or the one `--listener` names, TURN-TLS too) it
 * allocates, sends N packets at a set rate and reports loss and RTT p50/p99. Without `--peer` it relays through two allocations to itself (a
 * headless route: the gateway's own addresses are a backend); with `--peer udp://ip:port` the
 * packets go to that echo backend. A failure names the step: unreachable, 401, 403, no relay, loss.
 *
 * For the command lines: `main(argv, io, reader)` (argv after `icetest`). `stunnerctl icetest`
 * passes the gateway reader of tools/sources (-f, --url, --kubeconfig); the pods' `stunnerd
 * icetest` (tools/pod-main.ts, what the PostSync smoke-test Job runs) passes none, and reads
 * dataplane configs (-c) only, so that the pods' bundle carries no gateway source.
 * For programs: `runIceTest(options: IceTestOptions): Promise<IceTestReport>`.
 */
import type { StunnerConfig } from '../../contract/config/index.js';
import { parseCommandLine, scanFlags } from '../../runtime/args/flags.js';
import { createLogger, type Log, silentLog } from '../../runtime/log/logger.js';
import { printable, printableLines } from '../../runtime/log/printable.js';
import type { TransportAddress } from '../../runtime/stun/index.js';
import { TurnClient, TurnError, TurnUnreachableError } from '../client/turn-client.js';
import {
  type CredentialSource,
  type GatewayReader,
  loadDataplaneConfig,
  parseUdpAddress,
  TargetError,
  type TurnTarget,
  targetOfListener,
} from '../target/target.js';

export type IceTestStep = 'unreachable' | '401' | '403' | 'no relay' | 'loss' | 'config';

export interface IceTestOptions extends CredentialSource {
  /** Gateway configs to test (each TURN-UDP/TURN-TCP listener of each; TLS ones need no cert/key). */
  readonly configs: readonly StunnerConfig[];
  /** Only gateways whose admin.name is this (`namespace/gateway`) or ends with `/<this>`. */
  readonly gateway?: string;
  /** Only this listener (full or short name); a TURN-TLS listener is tested only when named. */
  readonly listener?: string;
  /** Dial this host instead of the listeners' public (or own) addresses. */
  readonly address?: string;
  /** An echo backend; without it, two allocations relay to each other (needs a headless route). */
  readonly peer?: TransportAddress;
  /** Packets per listener. @default 50 */
  readonly count?: number;
  /** Packets per second. @default 50 */
  readonly rate?: number;
  /** Payload bytes per packet (at least 16). @default 100 */
  readonly size?: number;
  /** Highest loss in percent that still passes. @default 0 */
  readonly maxLossPct?: number;
  /** Longest wait for one TURN answer, and for the last packet's echo. @default 3000 */
  readonly timeoutMs?: number;
  readonly insecure?: boolean;
  readonly sni?: string;
  readonly log?: Log;
}

export interface ListenerResult {
  /** `namespace/gateway/listener`. */
  readonly listener: string;
  readonly protocol: string;
  /** host:port dialled. */
  readonly server: string;
  readonly ok: boolean;
  /** The step that failed. */
  readonly step?: IceTestStep;
  /** One line: what failed and why. */
  readonly message?: string;
  readonly sent: number;
  readonly received: number;
  readonly lossPct: number;
  readonly rttP50Ms?: number;
  readonly rttP99Ms?: number;
}

export interface IceTestReport {
  readonly ok: boolean;
  readonly results: ListenerResult[];
}

const MAGIC = 0x49434554; // "ICET"

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

class StepError extends Error {
  constructor(
    readonly step: IceTestStep,
    message: string,
  ) {
    super(message);
  }
}

function classify(e: unknown, target: TurnTarget, what: string): StepError {
  if (e instanceof StepError) return e;
  if (e instanceof TurnError) {
    if (e.code === 401) {
      return new StepError(
        '401',
        `${what}: 401 ${e.reason || 'Unauthenticated'}: user "${target.username}" in realm "${e.realm ?? target.realm ?? '?'}" was not accepted`,
      );
    }
    if (e.code === 403) {
      return new StepError(
        '403',
        `${what}: 403 ${e.reason || 'Forbidden'}: the peer is outside the routes of listener "${target.listener}"`,
      );
    }
    return new StepError('no relay', `${what}: ${e.code} ${e.reason}`);
  }
  if (e instanceof TurnUnreachableError) return new StepError('unreachable', `${what}: ${e.message}`);
  return new StepError('unreachable', `${what}: ${(e as Error).message}`);
}

async function open(target: TurnTarget, o: IceTestOptions): Promise<TurnClient> {
  const timeoutMs = o.timeoutMs ?? 3000;
  return TurnClient.connect({
    host: target.host,
    port: target.port,
    transport: target.transport,
    username: target.username,
    password: target.password,
    insecure: o.insecure ?? false,
    timeoutMs,
    connectTimeoutMs: timeoutMs,
    ...(o.sni !== undefined ? { servername: o.sni } : {}),
  });
}

/** Tests one listener; never throws. */
export async function testListener(
  target: TurnTarget,
  protocol: string,
  o: IceTestOptions,
): Promise<ListenerResult> {
  const log = o.log ?? silentLog;
  const count = o.count ?? 50;
  const rate = o.rate ?? 50;
  const size = Math.max(16, o.size ?? 100);
  const timeoutMs = o.timeoutMs ?? 3000;
  const base = { listener: target.listener, protocol, server: `${target.host}:${target.port}` };
  const clients: TurnClient[] = [];
  let sent = 0;
  const rtts: number[] = [];
  try {
    let a: TurnClient;
    try {
      a = await open(target, o);
      clients.push(a);
      await a.allocate();
    } catch (e) {
      throw classify(e, target, 'allocate');
    }
    log.debug(
      `${target.listener}: relayed address ${a.allocation!.relayed.address}:${a.allocation!.relayed.port}`,
    );
    let peer: TransportAddress;
    if (o.peer !== undefined) {
      peer = o.peer;
    } else {
      // The echo side: a second allocation that returns whatever reaches it.
      let b: TurnClient;
      try {
        b = await open(target, o);
        clients.push(b);
        await b.allocate();
      } catch (e) {
        throw classify(e, target, 'allocate (second)');
      }
      const ra = a.allocation!.relayed;
      try {
        await b.channelBind(ra);
      } catch (e) {
        throw classify(e, target, `permission from ${b.allocation!.relayed.address} to ${ra.address}`);
      }
      b.onData((from, data) => b.send(from, Buffer.from(data)));
      peer = b.allocation!.relayed;
    }
    try {
      await a.channelBind(peer);
    } catch (e) {
      throw classify(e, target, `permission for peer ${peer.address}:${peer.port}`);
    }
    const sentAt = new Map<number, bigint>();
    const seen = new Set<number>();
    a.onData((_from, data) => {
      if (data.length < 16 || data.readUInt32BE(0) !== MAGIC) return;
      const seq = data.readUInt32BE(4);
      const t0 = sentAt.get(seq);
      if (t0 === undefined || seen.has(seq)) return;
      seen.add(seq);
      rtts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
    const payload = (seq: number): Buffer => {
      const b = Buffer.alloc(size);
      b.writeUInt32BE(MAGIC, 0);
      b.writeUInt32BE(seq, 4);
      return b;
    };
    // Send at the rate: every 10 ms, whatever is due.
    const start = Date.now();
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(count, Math.floor(((Date.now() - start) / 1000) * rate) + 1);
        while (sent < due) {
          sentAt.set(sent, process.hrtime.bigint());
          a.send(peer, payload(sent));
          sent++;
        }
        if (sent >= count || a.closed) resolve();
        else setTimeout(tick, 10);
      };
      tick();
    });
    const deadline = Date.now() + timeoutMs;
    while (seen.size < sent && Date.now() < deadline && !a.closed) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const received = seen.size;
    const lossPct = sent === 0 ? 100 : ((sent - received) / sent) * 100;
    rtts.sort((x, y) => x - y);
    const stats = {
      sent,
      received,
      lossPct,
      ...(rtts.length > 0 ? { rttP50Ms: percentile(rtts, 50)!, rttP99Ms: percentile(rtts, 99)! } : {}),
    };
    if (received === 0) {
      return {
        ...base,
        ...stats,
        ok: false,
        step: 'no relay',
        message: `no packet came back through the relay (${sent} sent to ${peer.address}:${peer.port})`,
      };
    }
    if (lossPct > (o.maxLossPct ?? 0)) {
      return {
        ...base,
        ...stats,
        ok: false,
        step: 'loss',
        message: `${lossPct.toFixed(1)}% loss (${sent - received} of ${sent}) exceeds ${o.maxLossPct ?? 0}%`,
      };
    }
    return { ...base, ...stats, ok: true };
  } catch (e) {
    const s = e instanceof StepError ? e : classify(e, target, 'test');
    return { ...base, ok: false, step: s.step, message: s.message, sent, received: 0, lossPct: 100 };
  } finally {
    await Promise.all(clients.map((c) => c.close({ timeoutMs: 1000 })));
  }
}

/**
 * Runs the test over every TURN-UDP and TURN-TCP listener of the selected gateways, or over the
 * one `listener` names, which may also be TURN-TLS.
 */
export async function runIceTest(o: IceTestOptions): Promise<IceTestReport> {
  const results: ListenerResult[] = [];
  const configs = o.configs.filter(
    (c) => o.gateway === undefined || c.admin.name === o.gateway || c.admin.name.endsWith(`/${o.gateway}`),
  );
  if (configs.length === 0) {
    return {
      ok: false,
      results: [
        {
          listener: o.gateway ?? '(none)',
          protocol: '',
          server: '',
          ok: false,
          step: 'config',
          message: o.gateway === undefined ? 'no gateway config given' : `no gateway "${o.gateway}"`,
          sent: 0,
          received: 0,
          lossPct: 100,
        },
      ],
    };
  }
  for (const c of configs) {
    for (const l of c.listeners) {
      const named = l.name === o.listener || l.name.split('/').pop() === o.listener;
      if (o.listener !== undefined && !named) continue;
      // TURN-TLS only when named: its certificate must be trusted for the name or address dialled
      // (--sni, --insecure), which a test of every listener cannot know.
      if (l.protocol !== 'TURN-UDP' && l.protocol !== 'TURN-TCP' && !(named && l.protocol === 'TURN-TLS'))
        continue;
      let target: TurnTarget;
      try {
        target = await targetOfListener(c, l, o, {
          where: `gateway ${c.admin.name}`,
          ...(o.address !== undefined ? { host: o.address } : {}),
        });
      } catch (e) {
        results.push({
          listener: l.name,
          protocol: l.protocol,
          server: '',
          ok: false,
          step: 'config',
          message: (e as Error).message,
          sent: 0,
          received: 0,
          lossPct: 100,
        });
        continue;
      }
      results.push(await testListener(target, l.protocol, o));
    }
  }
  if (results.length === 0) {
    results.push({
      listener: o.listener ?? '(none)',
      protocol: '',
      server: '',
      ok: false,
      step: 'config',
      message:
        o.listener === undefined
          ? 'no TURN-UDP or TURN-TCP listener to test'
          : `no TURN-UDP, TURN-TCP or TURN-TLS listener "${o.listener}" to test`,
      sent: 0,
      received: 0,
      lossPct: 100,
    });
  }
  return { ok: results.every((r) => r.ok), results };
}

/** One line per listener. */
/** One line per listener; names and messages may carry server text (REALM, reason, /status), so it is printable. */
export function formatResult(r: ListenerResult): string {
  return printable(resultText(r));
}

function resultText(r: ListenerResult): string {
  const head = `${r.listener} ${r.protocol} ${r.server}`.trim();
  const rtt =
    r.rttP50Ms !== undefined ? ` rtt p50 ${r.rttP50Ms.toFixed(2)} ms p99 ${r.rttP99Ms!.toFixed(2)} ms` : '';
  const counts = `sent ${r.sent} received ${r.received} loss ${r.lossPct.toFixed(1)}%${rtt}`;
  return r.ok
    ? `PASS ${head}: ${counts}`
    : `FAIL ${head}: ${r.step}: ${r.message}${r.sent > 0 ? ` (${counts})` : ''}`;
}

export const USAGE = `usage: stunnerctl icetest [<namespace>/<gateway>] [source] [options]
  source (one of):
    -c, --config <file>    a dataplane config (repeatable)
    -f <dir or file>       synthesized YAML (dist/)
    --url <url>            a runtime's /status
    --kubeconfig <path> [--context <name>]   a live cluster
options:
  --listener <name>      only this listener (a TURN-TLS one is tested only when named here)
  --address <host>       dial this address instead of the listeners' public addresses
  --peer udp://<ip>:<port>  an echo backend (default: relay through two allocations to itself,
                         which needs a headless route)
  -n, --count <n>        packets per listener (default 50)
  --rate <pps>           packets per second (default 50)
  --size <bytes>         payload size (default 100)
  --max-loss <percent>   highest loss that passes (default 0)
  --timeout <ms>         longest wait for a TURN answer and for the echoes (default 3000)
  --secret-file <path>   credentials when the config carries none (a Secret YAML)
  --user-id <id>         user id of minted ephemeral credentials (default icetest)
  --insecure, --sni <name>  TLS options
  -o, --output text|json
  -h, --help
exit codes: 0 every listener passed, 1 a step failed (the line names it: unreachable, 401, 403,
no relay, loss, config), 2 bad arguments`;

export interface IceTestCli {
  readonly configFiles: string[];
  readonly source?: Parameters<GatewayReader>[0];
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: 'text' | 'json';
  readonly options: Omit<IceTestOptions, 'configs'>;
}

export function parseIceTestArgs(argv: readonly string[]): IceTestCli | 'help' {
  const configFiles: string[] = [];
  let source: IceTestCli['source'];
  let kubeconfig: string | undefined;
  let context: string | undefined;
  let output: 'text' | 'json' = 'text';
  const o: Record<string, unknown> = {};
  let gateway: string | undefined;
  const num = (flag: string, v: string, min: number, max: number): number => {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new Error(`${flag}: "${v}" is not a number from ${min} to ${max}`);
    }
    return Number(v);
  };
  let help = false;
  scanFlags(argv, (flag, value, arg) => {
    switch (flag) {
      case '-h':
      case '--help':
        help = true;
        return 'stop';
      case '-c':
      case '--config':
        configFiles.push(value());
        break;
      case '-f':
        source = { kind: 'dist', path: value() };
        break;
      case '--url':
        source = { kind: 'url', url: value() };
        break;
      case '--kubeconfig':
        kubeconfig = value();
        break;
      case '--context':
        context = value();
        break;
      case '--listener':
        o.listener = value();
        break;
      case '--address':
        o.address = value();
        break;
      case '--peer':
        o.peer = parseUdpAddress(value(), '--peer');
        break;
      case '-n':
      case '--count':
        o.count = num(flag, value(), 1, 100_000);
        break;
      case '--rate':
        o.rate = num(flag, value(), 1, 100_000);
        break;
      case '--size':
        o.size = num(flag, value(), 16, 60_000);
        break;
      case '--max-loss':
        o.maxLossPct = num(flag, value(), 0, 100);
        break;
      case '--timeout':
        o.timeoutMs = num(flag, value(), 100, 600_000);
        break;
      case '--secret-file':
        o.secretFile = value();
        break;
      case '--user-id':
        o.userId = value();
        break;
      case '--insecure':
        o.insecure = true;
        break;
      case '--sni':
        o.sni = value();
        break;
      case '-o':
      case '--output': {
        const v = value();
        if (v !== 'text' && v !== 'json') throw new Error(`${flag}: "${v}" is not text or json`);
        output = v;
        break;
      }
      default:
        if (arg.startsWith('-')) throw new Error(`unknown option ${flag}`);
        if (gateway !== undefined)
          throw new Error(`only one gateway may be named (got "${gateway}" and "${arg}")`);
        gateway = arg;
    }
  });
  if (help) return 'help';
  if (source === undefined && kubeconfig !== undefined) source = { kind: 'cluster' };
  if (configFiles.length === 0 && source === undefined) {
    throw new Error('give a source: -c <dataplane config>, -f <dist/>, --url <status URL> or --kubeconfig');
  }
  if (gateway !== undefined) o.gateway = gateway;
  o.userId ??= 'icetest';
  return {
    configFiles,
    output,
    options: o as Omit<IceTestOptions, 'configs'>,
    ...(source !== undefined ? { source } : {}),
    ...(kubeconfig !== undefined ? { kubeconfig } : {}),
    ...(context !== undefined ? { context } : {}),
  };
}

export interface IceTestIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/**
 * The CLI. argv is what follows `icetest`; `reader` reads -f, --url and --kubeconfig (without it
 * only -c is read). Returns the exit code.
 */
export async function main(
  argv: string[],
  io: IceTestIo = { stdout: process.stdout, stderr: process.stderr },
  reader?: GatewayReader,
): Promise<number> {
  const line = parseCommandLine('icetest', USAGE, () => parseIceTestArgs(argv), io);
  if ('exit' in line) return line.exit;
  const cli: IceTestCli = line.args;
  const configs: StunnerConfig[] = [];
  try {
    for (const f of cli.configFiles) configs.push(await loadDataplaneConfig(f, cli.options));
    if (cli.source !== undefined) {
      if (reader === undefined)
        throw new TargetError(
          'this icetest reads dataplane configs (-c) only; stunnerctl icetest reads -f, --url and --kubeconfig',
        );
      configs.push(
        ...(await reader(cli.source, {
          ...(cli.options.secretFile !== undefined ? { secretFile: cli.options.secretFile } : {}),
          ...(cli.kubeconfig !== undefined ? { kubeconfig: cli.kubeconfig } : {}),
          ...(cli.context !== undefined ? { context: cli.context } : {}),
        })),
      );
    }
  } catch (e) {
    io.stderr.write(`icetest: ${printable((e as Error).message)}\n`);
    return e instanceof TargetError ? 2 : 1;
  }
  const log = createLogger('all:WARN', (line) => io.stderr.write(`${printableLines(line)}\n`)).scope(
    'icetest',
  );
  const report = await runIceTest({ ...cli.options, configs, log });
  if (cli.output === 'json') io.stdout.write(`${printableLines(JSON.stringify(report, null, 2))}\n`);
  else for (const r of report.results) io.stdout.write(`${formatResult(r)}\n`);
  return report.ok ? 0 : 1;
}
