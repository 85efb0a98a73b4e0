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
import { ExitCode } from '../../contract/exit-codes.js';
import {
  allValues,
  type CommandLine,
  lastValue,
  type Parsed,
  parseCommandLine,
  UsageError,
  usageErrorText,
} from '../../runtime/args/cli.js';
import { createLogger, type Log, silentLog } from '../../runtime/log/logger.js';
import { printable, printableLines } from '../../runtime/log/printable.js';
import { reasonPhrase } from '../../runtime/stun/constants.js';
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
import { ICETEST_DESCRIPTION, ICETEST_EXIT_CODES, icetestOptions } from './options.js';

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
        `${what}: 401 ${e.reason || reasonPhrase(401)}: user "${target.username}" in realm "${e.realm ?? target.realm ?? '?'}" was not accepted`,
      );
    }
    if (e.code === 403) {
      return new StepError(
        '403',
        `${what}: 403 ${e.reason || reasonPhrase(403)}: the peer is outside the routes of listener "${target.listener}"`,
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
    // Packets that came back but are not one of ours: a peer that answers without echoing.
    let foreign = 0;
    a.onData((_from, data) => {
      if (data.length < 16 || data.readUInt32BE(0) !== MAGIC) {
        foreign++;
        return;
      }
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
        message:
          foreign > 0
            ? `replies came back but were not echoes (${foreign} packet(s) from ${peer.address}:${peer.port} without the test's payload, ${sent} sent): the relay works, the peer does not echo`
            : `no packet came back through the relay (${sent} sent to ${peer.address}:${peer.port})`,
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

/** The pods' program calls it `stunnerd icetest`; stunnerctl, `stunnerctl icetest`. */
export function icetestCommandLine(tool = 'stunnerctl icetest'): CommandLine {
  return {
    tool,
    usage: `usage: ${tool} [<namespace>/<gateway>] <source> [options]

${ICETEST_DESCRIPTION}. Over each TURN-UDP and TURN-TCP listener it allocates, sends packets and checks that they come back; a failure names the step.`,
    completionName: tool.split(' ')[0]!,
    // Its lines start `icetest:` wherever it runs (the Job's log, a terminal).
    messagePrefix: 'icetest',
    build: (y) => icetestOptions(y.command('$0 [gateway]', ICETEST_DESCRIPTION)),
    epilog: ICETEST_EXIT_CODES,
  };
}

export interface IceTestCli {
  readonly configFiles: string[];
  readonly source?: Parameters<GatewayReader>[0];
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: 'text' | 'json';
  readonly options: Omit<IceTestOptions, 'configs'>;
}

/** The parsed command line into what to test; throws UsageError (or TargetError) naming the flag. */
export function icetestArgs(a: Parsed, typed: (name: string) => string = (n) => `--${n}`): IceTestCli {
  const configFiles = allValues(a.config);
  let source: IceTestCli['source'];
  const kubeconfig = lastValue(a.kubeconfig);
  const context = lastValue(a.context);
  const o: Record<string, unknown> = {};
  const num = (name: string, min: number, max: number): number | undefined => {
    const v = lastValue(a[name]);
    if (v === undefined) return undefined;
    if (!/^[0-9]+(\.[0-9]+)?$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new UsageError(`${typed(name)}: "${v}" is not a number from ${min} to ${max}`);
    }
    return Number(v);
  };
  const dist = lastValue(a.f);
  const url = lastValue(a.url);
  if (dist !== undefined) source = { kind: 'dist', path: dist };
  else if (url !== undefined) source = { kind: 'url', url };
  const set = (key: string, v: unknown) => {
    if (v !== undefined) o[key] = v;
  };
  set('listener', lastValue(a.listener));
  set('address', lastValue(a.address));
  const peer = lastValue(a.peer);
  if (peer !== undefined) o.peer = parseUdpAddress(peer, '--peer');
  set('count', num('count', 1, 100_000));
  set('rate', num('rate', 1, 100_000));
  set('size', num('size', 16, 60_000));
  set('maxLossPct', num('max-loss', 0, 100));
  set('timeoutMs', num('timeout', 100, 600_000));
  set('secretFile', lastValue(a['secret-file']));
  set('userId', lastValue(a['user-id']));
  if (a.insecure === true) o.insecure = true;
  set('sni', lastValue(a.sni));
  const output = (lastValue(a.output) ?? 'text') as 'text' | 'json';
  if (source === undefined && kubeconfig !== undefined) source = { kind: 'cluster' };
  if (configFiles.length === 0 && source === undefined) {
    throw new UsageError(
      'give a source: -c <dataplane config>, -f <dist/>, --url <status URL> or --kubeconfig',
    );
  }
  set('gateway', lastValue(a.gateway));
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

/** Where it writes: process.stdout/stderr, a stream, or stunnerctl's own output. */
export interface IceTestIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/**
 * The CLI. argv is what follows `icetest`; `reader` reads -f, --url and --kubeconfig (without it
 * only -c is read). Returns the exit code.
 */
export async function main(
  argv: string[],
  io: IceTestIo = { stdout: process.stdout, stderr: process.stderr },
  reader?: GatewayReader,
  tool = reader === undefined ? 'stunnerd icetest' : 'stunnerctl icetest',
): Promise<number> {
  const command = icetestCommandLine(tool);
  const line = parseCommandLine(command, argv, io);
  if ('exit' in line) return line.exit;
  let cli: IceTestCli;
  try {
    cli = icetestArgs(line.args, line.typed);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof TargetError)) throw e;
    io.stderr.write(usageErrorText(command, argv, (e as Error).message));
    return ExitCode.USAGE;
  }
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
    return e instanceof TargetError && e.usage ? ExitCode.USAGE : ExitCode.FAILED;
  }
  const log = createLogger('all:WARN', (line) => io.stderr.write(`${printableLines(line)}\n`)).scope(
    'icetest',
  );
  const report = await runIceTest({ ...cli.options, configs, log });
  if (cli.output === 'json') io.stdout.write(`${printableLines(JSON.stringify(report, null, 2))}\n`);
  else for (const r of report.results) io.stdout.write(`${formatResult(r)}\n`);
  return report.ok ? ExitCode.OK : ExitCode.FAILED;
}
