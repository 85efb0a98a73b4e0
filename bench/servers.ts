/**
 * Starts the servers under test as separate processes on loopback, so that /proc/<pid> accounts
 * for exactly the server's CPU, memory and descriptors.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bundleRuntime } from '../build/runtime-bundle.js';
import { RUNTIME_NODE_FLAGS } from '../contract/pod-layout.js';
import { Cls, decode, encode, Method, newTxid } from './stun.js';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const BUILD = path.join(ROOT, '.bench-build');
export const USER = 'user';
export const PASS = 'pass';
export const REALM = 'test';

export type DataMode = 'channel' | 'send';

export interface ServerHandle {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly mode: DataMode;
  readonly proc: ChildProcess;
  /** Several processes measured as one server (load phase only): clients spread round-robin. */
  readonly group?: readonly ServerHandle[];
  /** Last lines of output, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface ServerSpec {
  readonly name: string;
  readonly mode: DataMode;
  /** Why it cannot run here, or undefined if it can. */
  available(): string | undefined;
  /** nodeArgs: extra node flags (e.g. --cpu-prof) for the servers that run on Node. */
  start(port: number, tmp: string, nodeArgs?: readonly string[]): Promise<ServerHandle>;
}

export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  const p = s.address().port;
  await new Promise<void>((res) => s.close(() => res()));
  return p;
}

/** Polls with STUN Binding requests until the server answers. */
async function waitForStun(
  port: number,
  proc: ChildProcess,
  out: () => string,
  timeoutMs = 10_000,
): Promise<void> {
  const s = dgram.createSocket('udp4');
  s.on('error', () => {});
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}: ${out()}`);
      const txid = newTxid();
      const got = new Promise<boolean>((res) => {
        const t = setTimeout(() => res(false), 100);
        s.once('message', (m) => {
          clearTimeout(t);
          const d = decode(m);
          res(!!d && d.method === Method.BINDING && d.cls === Cls.SUCCESS);
        });
      });
      s.send(encode(Method.BINDING, Cls.REQUEST, txid, []), port, '127.0.0.1');
      if (await got) return;
    }
    throw new Error(`no STUN answer on 127.0.0.1:${port} within ${timeoutMs} ms: ${out()}`);
  } finally {
    s.close();
  }
}

function launch(
  name: string,
  mode: DataMode,
  port: number,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): ServerHandle {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env });
  let tail = '';
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString()).slice(-4000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  if (proc.pid === undefined) throw new Error(`cannot start ${cmd}`);
  return {
    name,
    mode,
    port,
    pid: proc.pid,
    proc,
    output: () => tail,
    stop: () =>
      new Promise<void>((res) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return res();
        const kill = setTimeout(() => proc.kill('SIGKILL'), 3000);
        proc.once('exit', () => {
          clearTimeout(kill);
          res();
        });
        proc.kill('SIGTERM');
      }),
  };
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

// ---------------------------------------------------------------- our runtime

/** The runtime exactly as it ships in the manifests (constructs/runtime-bundle), as one file. */
export function ourRuntimeCommand(): { cmd: string; args: string[]; how: string } {
  mkdirSync(BUILD, { recursive: true });
  const out = path.join(BUILD, 'stunnerd.mjs');
  try {
    writeFileSync(out, bundleRuntime().js);
    return { cmd: process.execPath, args: [out], how: 'the shipped bundle (constructs/runtime-bundle)' };
  } catch (e) {
    return {
      cmd: process.execPath,
      args: [path.join(ROOT, 'bin/stunnerd.mjs')],
      how: `tsx launcher (bundle failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
    };
  }
}

export function ourConfig(port: number, threads = 1): object {
  return {
    version: 'v1',
    admin: {
      name: 'bench',
      loglevel: 'all:WARN',
      healthcheck_endpoint: '',
      metrics_endpoint: '',
      threads,
      // Every load client comes from one address: no per-client-IP allocation quota.
      client_quota: 0,
    },
    auth: { type: 'static', realm: REALM, credentials: { username: USER, password: PASS } },
    listeners: [{ name: 'bench-udp', protocol: 'TURN-UDP', address: '127.0.0.1', port, routes: ['echo'] }],
    clusters: [{ name: 'echo', type: 'STATIC', endpoints: ['127.0.0.1/32'] }],
  };
}

export interface StunnerdOptions {
  readonly label?: string;
  /** Node binary; default: the one running the benchmark. */
  readonly node?: string;
  readonly threads?: number;
  /**
   * Bind the TURN listener with SO_REUSEPORT (Node >= 22.12), through a preload that flips dgram's
   * reusePort for sockets bound to the listener port. The runtime does not set it itself yet; this
   * lets several processes of the unchanged runtime share one port, as reusePort workers would.
   */
  readonly reusePort?: boolean;
  /** Run this prebuilt bundle instead of bundling runtime/ (A/B comparisons of two builds). */
  readonly bundle?: string;
  /** Extra environment for the runtime (e.g. STUNNERD_NATIVE=off). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Preload for `reusePort`: plain CommonJS, written into .bench-build at run time. */
const REUSEPORT_PRELOAD = `'use strict';
const dgram = require('node:dgram');
const target = Number(process.env.BENCH_REUSEPORT_PORT);
const bind = dgram.Socket.prototype.bind;
dgram.Socket.prototype.bind = function (...args) {
  const p = args[0] !== null && typeof args[0] === 'object' ? args[0].port : args[0];
  if (Number(p) === target) {
    for (const sym of Object.getOwnPropertySymbols(this)) {
      const st = this[sym];
      if (st && typeof st === 'object' && 'bindState' in st) st.reusePort = true;
    }
  }
  return bind.apply(this, args);
};
`;

function reusePortPreload(): string {
  mkdirSync(BUILD, { recursive: true });
  const file = path.join(BUILD, 'reuseport-preload.cjs');
  writeFileSync(file, REUSEPORT_PRELOAD);
  return file;
}

let instances = 0;

export function stunnerd(opts: StunnerdOptions = {}): ServerSpec {
  const label = opts.label ?? 'stunnerd (ours)';
  let cmd: { cmd: string; args: string[]; how: string } | undefined;
  return {
    name: label,
    mode: 'channel',
    available: () => {
      if (!existsSync(path.join(ROOT, 'runtime/main.ts'))) return 'runtime/main.ts is missing';
      if (opts.node && !existsSync(opts.node)) return `${path.relative(ROOT, opts.node)} is missing`;
      return undefined;
    },
    async start(port, tmp, nodeArgs = []) {
      cmd ??= opts.bundle
        ? { cmd: process.execPath, args: [opts.bundle], how: `prebuilt ${opts.bundle}` }
        : ourRuntimeCommand();
      const file = path.join(tmp, `stunnerd-${port}-${++instances}.json`);
      writeFileSync(file, JSON.stringify(ourConfig(port, opts.threads), null, 2));
      const pre = opts.reusePort ? ['--require', reusePortPreload()] : [];
      const h = launch(
        label,
        'channel',
        port,
        opts.node ?? cmd.cmd,
        // the gateway pod's Node flags (contract/pod-layout.ts), then the caller's
        [...RUNTIME_NODE_FLAGS, ...nodeArgs, ...pre, ...cmd.args, '-c', file],
        {
          ...process.env,
          ...opts.env,
          BENCH_REUSEPORT_PORT: String(port),
        },
      );
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`stunnerd not ready in 15 s: ${h.output()}`)), 15_000);
        const check = (): void => {
          if (h.output().includes('stunnerd ready')) {
            clearTimeout(t);
            res();
          }
        };
        h.proc.stdout!.on('data', check);
        h.proc.once('exit', (c) => {
          clearTimeout(t);
          rej(new Error(`stunnerd exited with ${c}: ${h.output()}`));
        });
        check();
      });
      await waitForStun(port, h.proc, h.output);
      return h;
    },
  };
}

/**
 * `n` processes of our runtime measured together: with `reusePort` they share the listener port
 * (the kernel spreads client flows by 4-tuple, as over reusePort worker threads); without it each
 * has its own port and the clients are spread round-robin (the ceiling of what n cores give).
 */
export function stunnerdGroup(n: number, opts: StunnerdOptions = {}): ServerSpec {
  const one = stunnerd(opts);
  const label = opts.label ?? `ours, ${n} processes`;
  return {
    name: label,
    mode: 'channel',
    available: one.available,
    async start(port, tmp, nodeArgs) {
      const group: ServerHandle[] = [await one.start(port, tmp, nodeArgs)];
      for (let i = 1; i < n; i++) {
        group.push(await one.start(opts.reusePort ? port : await freeUdpPort(), tmp, nodeArgs));
      }
      const first = group[0]!;
      return {
        ...first,
        name: label,
        group,
        output: () => group.map((g) => g.output()).join('\n'),
        stop: async () => {
          await Promise.all(group.map((g) => g.stop()));
        },
      };
    },
  };
}

// ---------------------------------------------------------------- coturn

export const coturn: ServerSpec = {
  name: 'coturn 4.6',
  mode: 'channel',
  available: () => (has('turnserver') ? undefined : 'turnserver (Debian coturn) not installed'),
  async start(port, tmp) {
    const h = launch('coturn 4.6', 'channel', port, 'turnserver', [
      '-n',
      '--no-tls',
      '--no-dtls',
      '--no-tcp',
      '--no-cli',
      '-L',
      '127.0.0.1',
      '-E',
      '127.0.0.1',
      '-p',
      String(port),
      '--min-port',
      '50000',
      '--max-port',
      '59999',
      '-a',
      '-u',
      `${USER}:${PASS}`,
      '-r',
      REALM,
      '--allow-loopback-peers',
      '--no-multicast-peers',
      '--log-file',
      path.join(tmp, `coturn-${port}.log`),
      '--simple-log',
      '--no-stdout-log',
    ]);
    await waitForStun(port, h.proc, h.output);
    return h;
  },
};

// ---------------------------------------------------------------- pion/turn v2

const PION_PKG = 'github.com/pion/turn/v2/examples/turn-server/simple';

function pionBinary(): string | undefined {
  const bin = path.join(BUILD, 'pion-turn-simple');
  if (existsSync(bin)) return bin;
  if (!has('go')) return undefined;
  mkdirSync(BUILD, { recursive: true });
  const r = spawnSync('go', ['build', '-o', bin, PION_PKG], {
    env: {
      ...process.env,
      GOPATH: '/usr/share/gocode',
      GO111MODULE: 'off',
      GOCACHE: path.join(BUILD, 'gocache'),
      GOFLAGS: '',
    },
    encoding: 'utf8',
  });
  return r.status === 0 && existsSync(bin) ? bin : undefined;
}

export const pion = pionServer(
  'pion/turn v2',
  pionBinary,
  () => 'cannot build pion example (golang-go + golang-github-pion-turn.v2-dev)',
);

/** pion/turn's simple example server, as every pion row runs it: one user, the bench's realm. */
function pionServer(name: string, binary: () => string | undefined, unavailable: () => string): ServerSpec {
  return {
    name,
    mode: 'channel',
    available: () => (binary() ? undefined : unavailable()),
    async start(port) {
      const h = launch(name, 'channel', port, binary()!, [
        '-public-ip',
        '127.0.0.1',
        '-port',
        String(port),
        '-users',
        `${USER}=${PASS}`,
        '-realm',
        REALM,
      ]);
      await waitForStun(port, h.proc, h.output);
      return h;
    },
  };
}

// ---------------------------------------------------------------- pion/turn v4

/** build/pion-turn-v4 pins the module; the binary is cached by a stamp of its go.mod and go.sum. */
function pionV4Binary(): string | undefined {
  const bin = path.join(BUILD, 'pion-turn-v4-simple');
  const dir = path.join(ROOT, 'build/pion-turn-v4');
  const stampFile = `${bin}.stamp`;
  const stamp = ['go.mod', 'go.sum'].map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
  if (existsSync(bin) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return bin;
  if (!has('go')) return undefined;
  mkdirSync(BUILD, { recursive: true });
  const r = spawnSync(
    'go',
    ['build', '-mod=readonly', '-trimpath', '-ldflags', '-s -w', '-o', bin, `${PION_V4_PKG}`],
    {
      cwd: dir,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
      encoding: 'utf8',
      timeout: 600_000,
    },
  );
  if (r.status !== 0 || !existsSync(bin)) {
    pionV4Error = (r.stderr || r.error?.message || 'go build failed')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' / ');
    return undefined;
  }
  writeFileSync(stampFile, stamp);
  return bin;
}

const PION_V4_PKG = 'github.com/pion/turn/v4/examples/turn-server/simple';
let pionV4Error = '';

export const pionV4 = pionServer(
  'pion/turn v4',
  pionV4Binary,
  () => `cannot build ${PION_V4_PKG} in build/pion-turn-v4: ${pionV4Error || 'no go command'}`,
);

// ---------------------------------------------------------------- STUNner's stunnerd

/** STUNner v1.2.1's stunnerd as scripts/build-stunner.sh leaves it (the differential tier's build). */
export const STUNNER_GO_BIN = path.join(ROOT, '.stunner-build/bin/stunnerd');

export const stunnerGo: ServerSpec = {
  name: "STUNner's stunnerd v1.2.1",
  mode: 'channel',
  available: () =>
    existsSync(STUNNER_GO_BIN)
      ? undefined
      : '.stunner-build/bin/stunnerd is missing: run scripts/build-stunner.sh (needs the Go module proxy)',
  async start(port, tmp) {
    const file = path.join(tmp, `stunner-go-${port}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        version: 'v1',
        admin: {
          name: 'bench-stunner',
          loglevel: 'all:WARN',
          healthcheck_endpoint: '',
          metrics_endpoint: '',
        },
        auth: { type: 'static', realm: REALM, credentials: { username: USER, password: PASS } },
        listeners: [
          { name: 'bench-udp', protocol: 'TURN-UDP', address: '127.0.0.1', port, routes: ['echo'] },
        ],
        clusters: [{ name: 'echo', type: 'STATIC', endpoints: ['127.0.0.1/32'] }],
      }),
    );
    const h = launch("STUNner's stunnerd v1.2.1", 'channel', port, STUNNER_GO_BIN, [
      '-c',
      `file://${file}`,
      '-l',
      'all:WARN',
    ]);
    await waitForStun(port, h.proc, h.output);
    // STUNner drains allocations on SIGTERM without a deadline: launch's stop() kills after 3 s
    return h;
  },
};

// ---------------------------------------------------------------- node-turn

const require = createRequire(import.meta.url);

export const nodeTurn: ServerSpec = {
  name: 'node-turn 0.0.6',
  mode: 'send',
  available: () => {
    try {
      require.resolve('node-turn');
      return undefined;
    } catch {
      return 'node-turn is not installed (npm devDependency)';
    }
  },
  async start(port, _tmp, nodeArgs = []) {
    const code = `
const Turn = require(${JSON.stringify(require.resolve('node-turn'))});
const s = new Turn({ listeningPort: ${port}, listeningIps: ['127.0.0.1'], relayIps: ['127.0.0.1'],
  minPort: 40000, maxPort: 49999, authMech: 'long-term', credentials: { ${USER}: '${PASS}' },
  realm: '${REALM}', debugLevel: 'OFF', debug: () => {} });
s.start();
process.on('SIGTERM', () => { s.stop(); process.exit(0); });`;
    const h = launch('node-turn 0.0.6', 'send', port, process.execPath, [...nodeArgs, '-e', code]);
    await waitForStun(port, h.proc, h.output);
    return h;
  },
};
