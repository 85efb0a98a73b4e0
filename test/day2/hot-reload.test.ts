/**
 * Hot reload under relay load, through every reload path, with the real runtime: a route change
 * (kubelet `..data` symlink swap), a credential change (plain write), a listener port change
 * (remove + recreate), and an invalid config. Established allocations on unchanged listeners
 * must all survive and keep relaying; only the changed listener restarts.
 */
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../contract/config/index.js';
import { createLogger } from '../../runtime/log/logger.js';
import { runStunnerd, type StunnerdProcess } from '../../runtime/process/stunnerd.js';
import { freePort } from '../helpers/net.js';
import { TurnClient, TurnError, UdpPeer } from '../helpers/turn-client.js';
import { until } from '../helpers/wait.js';

/** How long a reload (file poll + apply) may take to show. */
const RELOAD_MS = 4000;

interface Flow {
  readonly client: TurnClient;
  readonly channel: number;
  sent: number;
}

describe('hot reload under relay load', () => {
  const lines: string[] = [];
  let dir: string;
  let daemon: StunnerdProcess;
  const logger = createLogger('all:INFO', (l) => lines.push(l));
  let portA: number;
  let portB: number;
  let portB2: number;
  let peer: UdpPeer;
  const flows: Flow[] = [];
  let pump: NodeJS.Timeout | undefined;
  let generation = 0;

  const config = (o: {
    password?: string;
    extraRoute?: boolean;
    portB?: number;
    broken?: boolean;
    loglevel?: string;
  }) =>
    JSON.stringify({
      version: 'v1',
      admin: { name: 'media/gw', healthcheck_endpoint: '', loglevel: o.loglevel ?? 'all:INFO' },
      auth: {
        type: 'static',
        realm: 'reload',
        credentials: { username: 'user', password: o.password ?? 'one' },
      },
      listeners: [
        {
          name: 'media/gw/a',
          address: '127.0.0.1',
          port: portA,
          routes: o.extraRoute ? ['media/peers', 'media/extra'] : ['media/peers'],
        },
        {
          name: 'media/gw/b',
          address: '127.0.0.1',
          port: o.broken ? 70000 : (o.portB ?? portB),
          routes: ['media/peers'],
        },
      ],
      clusters: [
        { name: 'media/peers', endpoints: ['127.0.0.1/32'] },
        { name: 'media/extra', endpoints: ['127.0.0.7/32'] },
      ],
    });

  const openClient = (port: number, password: string) =>
    TurnClient.open({ host: '127.0.0.1', port, username: 'user', password });

  /** The kubelet's way: write a new timestamped dir, point ..data_tmp at it, rename over ..data. */
  async function kubeletUpdate(text: string): Promise<void> {
    const ts = `..2026_${++generation}`;
    await mkdir(join(dir, ts));
    await writeFile(join(dir, ts, 'stunnerd.conf'), text);
    await symlink(ts, join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  }

  /** Every flow has got every echo so far back, and the relay keeps answering. */
  async function allFlowsAlive(which: (f: Flow) => boolean, label: string): Promise<void> {
    for (const f of flows.filter(which)) {
      const before = f.client.count(f.channel);
      await until(
        `${label}: flow on channel ${f.channel} keeps relaying`,
        () => f.client.count(f.channel) > before + 2,
        RELOAD_MS,
      );
    }
  }

  /**
   * Once the pump stops: every echo is back, or none has come for 200 ms (a datagram lost
   * earlier never comes; the caller's count says so). Bounded by RELOAD_MS.
   */
  async function inFlightArrived(mine: Flow[]): Promise<void> {
    const got = () => mine.reduce((n, f) => n + f.client.count(f.channel), 0);
    let last = got();
    let quietSince = Date.now();
    await until(
      'the echoes in flight',
      () => {
        const n = got();
        if (n !== last) [last, quietSince] = [n, Date.now()];
        return mine.every((f) => f.client.count(f.channel) >= f.sent) || Date.now() - quietSince >= 200;
      },
      RELOAD_MS,
    );
  }

  const restarts = () => lines.filter((l) => /listener \S+ restarting/.test(l));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stunnerd-day2-reload-'));
    [portA, portB, portB2] = [await freePort(), await freePort(), await freePort()];
    peer = await UdpPeer.open();
    await mkdir(join(dir, '..2026_0'));
    await writeFile(join(dir, '..2026_0', 'stunnerd.conf'), config({}));
    await symlink('..2026_0', join(dir, '..data'));
    await symlink('..data/stunnerd.conf', join(dir, 'stunnerd.conf'));
    daemon = await runStunnerd({
      configFile: join(dir, 'stunnerd.conf'),
      logger,
      handleSignals: false,
      kubernetes: false,
      configPollMs: 500,
    });
    // three flows on listener a, two on b, each with a channel to the echo peer
    for (const [i, port] of [portA, portA, portA, portB, portB].entries()) {
      const client = await openClient(port, 'one');
      await client.allocate();
      const channel = 0x4000 + i;
      await client.channelBind(channel, peer.address);
      flows.push({ client, channel, sent: 0 });
    }
    pump = setInterval(() => {
      for (const f of flows) {
        f.client.channelData(f.channel, Buffer.from(`m${f.sent++}`));
      }
    }, 10);
    await allFlowsAlive(() => true, 'before any reload');
  });

  afterAll(async () => {
    clearInterval(pump);
    for (const f of flows) f.client.close();
    peer?.close();
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const onA = (f: Flow) => f.client.opts.port === portA;

  it('route change (..data symlink swap): applied in place, nothing restarts, nothing lost', async () => {
    const probe = await openClient(portA, 'one');
    try {
      await probe.allocate();
      await expect(probe.createPermission('127.0.0.7')).rejects.toMatchObject({ code: 403 });
      await kubeletUpdate(config({ extraRoute: true }));
      await until(
        'the new route admits 127.0.0.7',
        async () => {
          try {
            await probe.createPermission('127.0.0.7');
            return true;
          } catch (e) {
            if (e instanceof TurnError && e.code === 403) return false;
            throw e;
          }
        },
        RELOAD_MS,
      );
    } finally {
      probe.close();
    }
    expect(restarts()).toEqual([]);
    await allFlowsAlive(() => true, 'after the route change');
    expect(daemon.relay.allocationCount()).toBeGreaterThanOrEqual(flows.length);
  });

  it('credential change (plain write): new password works, old allocations keep relaying', async () => {
    // from here on the file is a plain file
    await unlink(join(dir, 'stunnerd.conf'));
    await writeFile(join(dir, 'stunnerd.conf'), config({ extraRoute: true, password: 'two' }));
    const fresh = await openClient(portA, 'two');
    try {
      await until(
        'the new password is accepted',
        async () => {
          try {
            await fresh.allocate();
            return true;
          } catch (e) {
            if (e instanceof TurnError && (e.code === 401 || e.code === 441)) return false;
            throw e;
          }
        },
        RELOAD_MS,
      );
      const old = await openClient(portA, 'one');
      try {
        await expect(old.allocate()).rejects.toBeInstanceOf(TurnError);
      } finally {
        old.close();
      }
    } finally {
      fresh.close();
    }
    expect(restarts()).toEqual([]);
    await allFlowsAlive(() => true, 'after the credential change');
  });

  it('listener port change (remove + recreate): only that listener restarts', async () => {
    const countA = () => flows.filter(onA).length;
    await unlink(join(dir, 'stunnerd.conf'));
    await until(
      'the removal seen',
      () => lines.some((l) => /config file .* unreadable \(ENOENT\)/.test(l)),
      RELOAD_MS,
    );
    await writeFile(join(dir, 'stunnerd.conf'), config({ extraRoute: true, password: 'two', portB: portB2 }));
    await until('listener b restarted', () => restarts().length > 0, RELOAD_MS);
    expect(restarts()).toHaveLength(1);
    expect(restarts()[0]).toMatch(/listener media\/gw\/b restarting/);
    expect(daemon.relay.listenerPort('media/gw/b')).toBe(portB2);
    // every allocation on the unchanged listener survived and relays
    await allFlowsAlive(onA, 'after the port change');
    expect(daemon.relay.allocationCount()).toBeGreaterThanOrEqual(countA());
    const moved = await openClient(portB2, 'two');
    try {
      await moved.allocate();
    } finally {
      moved.close();
    }
  });

  it('log level change applies in place', async () => {
    await writeFile(
      join(dir, 'stunnerd.conf'),
      config({ extraRoute: true, password: 'two', portB: portB2, loglevel: 'all:INFO,perimeter:DEBUG' }),
    );
    await until('the new log level is in force', () => logger.scope('perimeter').level === 4, RELOAD_MS);
    expect((daemon.status().admin as { loglevel: string }).loglevel).toBe('all:INFO,perimeter:DEBUG');
    expect(restarts()).toHaveLength(1); // still only b's restart from before
    await allFlowsAlive(onA, 'after the log level change');
  });

  it('an invalid config is rejected with one line and the old one keeps serving', async () => {
    const errorsBefore = lines.filter((l) => / ERROR /.test(l)).length;
    await writeFile(join(dir, 'stunnerd.conf'), config({ extraRoute: true, password: 'two', broken: true }));
    await until(
      'the rejection is logged',
      () => lines.some((l) => /config reload rejected/.test(l)),
      RELOAD_MS,
    );
    const errs = lines.filter((l) => / ERROR /.test(l)).slice(errorsBefore);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/listeners\[1\]\.port: 70000 is not a valid port/);
    expect(daemon.relay.listenerPort('media/gw/b')).toBe(portB2);
    await allFlowsAlive(onA, 'after the invalid config');
    const c = await openClient(portB2, 'two');
    try {
      await c.allocate();
    } finally {
      c.close();
    }
    // traffic totals: on the surviving listener, (nearly) every datagram sent came back
    for (const f of flows.filter(onA)) {
      expect(f.client.count(f.channel)).toBeGreaterThan(f.sent * 0.95 - 5);
    }
  });
  it('100 reloads under load (a route flipped each time; every 10th through the file, the rest applied directly): every datagram on the unchanged listener comes back', async () => {
    const mine = flows.filter(onA);
    // quiesce: stop the pump, let what is in flight arrive, and start counting from there
    clearInterval(pump);
    await inFlightArrived(mine);
    const start = mine.map((f) => ({ sent: f.sent, got: f.client.count(f.channel) }));
    pump = setInterval(() => {
      for (const f of mine) f.client.channelData(f.channel, Buffer.from(`r${f.sent++}`));
    }, 5);
    const reloadsBefore = lines.filter((l) => /config reloaded/.test(l)).length;
    let viaFile = 0;
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) {
      // the file's text must differ from its previous text (the watcher applies changed content)
      const flip = i % 10 === 0 ? (i / 10) % 2 === 0 : i % 2 === 0;
      const text = config({ extraRoute: flip, password: 'two', portB: portB2 });
      if (i % 10 === 0) {
        // the kubelet's path: file watch, debounce, validation, apply (about 150 ms each)
        viaFile++;
        await writeFile(join(dir, 'stunnerd.conf'), text);
        await until(
          `reload ${i + 1} applied`,
          () => lines.filter((l) => /config reloaded/.test(l)).length >= reloadsBefore + viaFile,
          RELOAD_MS,
        );
      } else {
        // what the watcher calls once a file has been validated
        await daemon.reconfigure(parseConfig(JSON.parse(text)));
      }
    }
    const reloadMs = Date.now() - t0;
    clearInterval(pump);
    await inFlightArrived(mine);
    const lost = mine.map((f, i) => f.sent - start[i]!.sent - (f.client.count(f.channel) - start[i]!.got));
    const sent = mine.reduce((n, f, i) => n + f.sent - start[i]!.sent, 0);
    console.log(`100 reloads in ${reloadMs} ms under ${sent} relayed round trips: lost ${lost.join(', ')}`);
    expect(restarts()).toHaveLength(1); // still only b's port change from before
    expect(lost).toEqual(mine.map(() => 0));
    expect(sent).toBeGreaterThan(300);
  }, 60_000);
});
