/**
 * `--log-format json`: every line is a JSON object with time, level, component, message (and
 * fields when given), and a run logs the same events as the same run in text mode. The process
 * cases run the real `stunnerd` (and `stunnerd auth`) CLI.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, formatLogLine, parseLogFormat } from '../../../runtime/log/logger.js';
import { freePort, freeTcpPort } from '../../helpers/net.js';
import { STUNNERD_BIN, startStunnerd } from '../../helpers/stunnerd.js';
import { TurnClient, UdpPeer } from '../../helpers/turn-client.js';
import { until } from '../../helpers/wait.js';

interface JsonLine {
  time: string;
  level: string;
  component: string;
  message: string;
  fields?: Record<string, unknown>;
}

describe('logger formats', () => {
  it('writes the same event as text and as one JSON object', () => {
    const text: string[] = [];
    const json: string[] = [];
    for (const [format, out] of [
      ['text', text],
      ['json', json],
    ] as const) {
      const log = createLogger('all:INFO,turn:DEBUG', (l) => out.push(l), format);
      log.scope('turn').debug('allocation created', { client: '127.0.0.1:5000', lifetime: 600 });
      log.scope('turn').trace('not at this level');
      log.scope('ice').warn('plain message with "quotes"');
    }
    expect(text).toHaveLength(2);
    expect(text[0]).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z turn DEBUG allocation created client=127\.0\.0\.1:5000 lifetime=600$/,
    );
    expect(text[1]).toMatch(/ ice WARN plain message with "quotes"$/);
    const parsed = json.map((l) => JSON.parse(l) as JsonLine);
    expect(parsed[0]).toEqual({
      time: expect.stringMatching(/Z$/),
      level: 'DEBUG',
      component: 'turn',
      message: 'allocation created',
      fields: { client: '127.0.0.1:5000', lifetime: 600 },
    });
    expect(parsed[1]).toEqual({
      time: expect.any(String),
      level: 'WARN',
      component: 'ice',
      message: 'plain message with "quotes"',
    });
  });

  it('quotes text field values that need it, and validates the flag value', () => {
    expect(
      formatLogLine('text', 'INFO', 'x', 'm', { a: 'two words', b: true, c: undefined }, new Date(0)),
    ).toBe('1970-01-01T00:00:00.000Z x INFO m a="two words" b=true');
    expect(parseLogFormat('JSON')).toBe('json');
    expect(() => parseLogFormat('xml')).toThrow('"xml" is not a log format; use text or json');
  });
});

/** The events of a run: component, level and message with numbers (ports, counts, ids) masked. */
function events(lines: { component: string; level: string; message: string }[]): string[] {
  return lines
    .map((l) => `${l.component} ${l.level} ${l.message.replace(/[0-9a-f]{8,}/g, 'H').replace(/\d+/g, '#')}`)
    .sort();
}

function textEvents(out: string): string[] {
  return events(
    out
      .trim()
      .split('\n')
      .map((l) => {
        const m = /^\S+ (\S+) (ERROR|WARN|INFO|DEBUG|TRACE) (.*)$/.exec(l);
        if (!m) throw new Error(`not a text log line: ${l}`);
        return { component: m[1]!, level: m[2]!, message: m[3]! };
      }),
  );
}

function jsonEvents(out: string): string[] {
  return events(
    out
      .trim()
      .split('\n')
      .map((l) => {
        const o = JSON.parse(l) as JsonLine;
        expect(Object.keys(o).slice(0, 4)).toEqual(['time', 'level', 'component', 'message']);
        expect(Number.isNaN(Date.parse(o.time))).toBe(false);
        return o;
      }),
  );
}

describe('stunnerd --log-format', () => {
  let peer: UdpPeer;
  beforeAll(async () => {
    peer = await UdpPeer.open(true);
  });
  afterAll(() => peer.close());

  /** One allocation with a permission and a relayed packet, then a stop: the run's output. */
  async function run(format: 'text' | 'json'): Promise<string> {
    const port = await freePort();
    const d = await startStunnerd(
      {
        version: 'v1',
        admin: { name: 'stunner/log-gw', healthcheck_endpoint: '' },
        auth: { type: 'static', credentials: { username: 'user', password: 'pass' } },
        listeners: [{ name: 'stunner/log-gw/udp', address: '127.0.0.1', port, routes: ['echo'] }],
        clusters: [{ name: 'echo', endpoints: ['127.0.0.1/32'] }],
      },
      { logLevel: 'all:DEBUG', args: ['--log-format', format], timeoutMs: 30_000 },
    );
    const c = await TurnClient.open({ host: '127.0.0.1', port, username: 'user', password: 'pass' });
    try {
      await c.allocate();
      await c.createPermission(peer.address);
      c.send(peer.address, Buffer.from('x'));
      await c.waitReceived(1, 5000);
      await c.refresh(0);
    } finally {
      c.close();
    }
    await until('the refresh is logged', () => d.output().split('\n').length > 3, 5000);
    expect(await d.stop('SIGINT')).toBe(0);
    return d.output();
  }

  it('prints only JSON lines in json mode, carrying the same events as text mode', async () => {
    const text = await run('text');
    const json = await run('json');
    const te = textEvents(text);
    const je = jsonEvents(json);
    expect(te.some((e) => e.startsWith('stunnerd INFO stunnerd ready'))).toBe(true);
    expect(te.length).toBeGreaterThan(3);
    expect(je).toEqual(te);
  }, 90_000);

  it('refuses an unknown format with one line and exit 2 (a usage error, docs/cli.md)', async () => {
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, [STUNNERD_BIN, 'turn://u:p@127.0.0.1:3478', '--log-format', 'xml'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      p.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.once('exit', (code) => {
        clearTimeout(t);
        resolve({ code, err });
      });
    });
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('stunnerd: --log-format: "xml" is not one of text, json');
  }, 40_000);
});

describe('stunnerd auth --log-format json', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-log-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('logs JSON lines, the ready line included', async () => {
    await writeFile(
      join(dir, 'gw.json'),
      JSON.stringify({
        version: 'v1',
        admin: { name: 'stunner/gw' },
        auth: { credentials: { username: 'u', password: 'p' } },
        listeners: [{ name: 'stunner/gw/udp', address: '10.0.0.1' }],
      }),
    );
    const port = await freeTcpPort();
    const p = spawn(
      process.execPath,
      [
        STUNNERD_BIN,
        'auth',
        '-c',
        join(dir, 'gw.json'),
        '-c',
        join(dir, 'missing'),
        '-p',
        String(port),
        '-a',
        '127.0.0.1',
        '--log-format',
        'json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      await until('auth ready', () => out.includes('stunnerd auth ready') || p.exitCode !== null, 30_000);
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as JsonLine);
      expect(lines.at(-1)).toMatchObject({
        level: 'INFO',
        component: 'ice',
        message: `stunnerd auth ready on 127.0.0.1:${port}`,
      });
      expect(lines.length).toBeGreaterThan(1);
    } finally {
      p.kill('SIGKILL');
    }
  }, 40_000);
});
