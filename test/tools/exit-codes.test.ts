/**
 * Every tool against the one exit-code table (docs/cli.md, contract/exit-codes.ts): each code the
 * table documents, for each tool that can return it. stunnerd and `stunnerd auth` run as the bin
 * (they exit the process); stunnerctl, turncat and icetest through their main().
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../contract/exit-codes.js';
import { main as icetest } from '../../tools/icetest/icetest.js';
import { main as stunnerctl } from '../../tools/stunnerctl/stunnerctl.js';
import { main as turncat } from '../../tools/turncat/turncat.js';
import { freeUdpPort } from '../helpers/net.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STUNNERD = join(ROOT, 'bin', 'stunnerd.mjs');

/** The table of docs/cli.md: code -> its meaning. */
function documentedTable(): Map<number, string> {
  const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| ([0-9]) \| ([^|]+) \|/gm)];
  return new Map(rows.map((m) => [Number(m[1]), m[2]!.trim()]));
}

type Tool = 'stunnerctl' | 'turncat' | 'icetest' | 'stunnerd' | 'stunnerd auth';

async function run(tool: Tool, argv: string[]): Promise<{ code: number; err: string }> {
  if (tool === 'stunnerctl') {
    let err = '';
    const code = await stunnerctl(argv, { out: () => {}, err: (s) => (err += s) });
    return { code, err };
  }
  if (tool === 'turncat' || tool === 'icetest') {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let err = '';
    stdout.resume();
    stderr.on('data', (d) => (err += d));
    const code =
      tool === 'turncat'
        ? await turncat(argv, { stdin: new PassThrough(), stdout, stderr }, { signals: false })
        : await icetest(argv, { stdout, stderr });
    return { code, err };
  }
  const args = tool === 'stunnerd auth' ? ['auth', ...argv] : argv;
  return new Promise((resolve) => {
    execFile(process.execPath, [STUNNERD, ...args], { timeout: 40_000 }, (e, _out, err) => {
      resolve({ code: e ? ((e as { code?: number }).code ?? -1) : 0, err });
    });
  });
}

describe('one exit-code table for every tool', () => {
  let dir: string;
  let busyPort = 0;
  let deadPort = 0;
  const busy = createServer();
  const cases: [Tool, number, () => string[], string][] = [];
  const add = (tool: Tool, code: number, argv: () => string[], why: string) =>
    cases.push([tool, code, argv, why]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'exit-codes-'));
    await writeFile(join(dir, 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n');
    await writeFile(join(dir, 'bad.yaml'), 'version: v1\nlisteners: [{name: l, port: 70000}]\n');
    await writeFile(join(dir, 'gw.json'), JSON.stringify({ version: 'v1', admin: { name: 'ns/gw' } }));
    const fixtures = join(ROOT, 'test', 'tools', 'stunnerctl', 'fixtures');
    await writeFile(
      join(dir, 'partly.yaml'),
      `${readFileSync(join(fixtures, 'cloudretro.yaml'), 'utf8')}---\napiVersion: example.com/v1\nkind: Frobnicator\nmetadata: {name: f, namespace: stunner}\n`,
    );
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    busyPort = (busy.address() as { port: number }).port;
    deadPort = await freeUdpPort();
  });
  afterAll(async () => {
    busy.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('docs/cli.md documents exactly the codes of contract/exit-codes.ts', () => {
    expect([...documentedTable().keys()].sort()).toEqual(Object.values(ExitCode).sort());
    expect(documentedTable().get(ExitCode.USAGE)).toMatch(/usage/);
  });

  // 0: done
  add('stunnerctl', 0, () => ['config', '-f', 'dist'], 'config of the committed dist/');
  add('stunnerctl', 0, () => ['--version'], '--version');
  add('turncat', 0, () => ['--help'], '--help');
  add('icetest', 0, () => ['completion', 'zsh'], 'completion');
  add('stunnerd', 0, () => ['--version'], '--version');
  add('stunnerd auth', 0, () => ['--help'], '--help');
  // 1: the operation or check failed
  add('stunnerctl', 1, () => ['config', '-f', dir], 'a directory that holds no gateway');
  add('stunnerctl', 1, () => ['graph', '-f', join(dir, 'pod.yaml')], 'a file of other objects');
  add('stunnerctl', 1, () => ['status', '--url', 'http://127.0.0.1:1'], 'status: an unreachable runtime');
  add(
    'turncat',
    1,
    () => ['--timeout', '200', '-', `turn://u:p@127.0.0.1:${deadPort}`, 'udp://127.0.0.1:9'],
    'an unreachable server',
  );
  add(
    'turncat',
    1,
    () => ['-', `file://${join(dir, 'missing.yaml')}#l`, 'udp://127.0.0.1:9'],
    'a file it cannot read',
  );
  add('icetest', 1, () => ['-c', join(dir, 'missing.json')], 'a config it cannot read');
  add('stunnerd', 1, () => ['-c', join(dir, 'bad.yaml')], 'an invalid config');
  add(
    'stunnerd auth',
    1,
    () => ['-c', dir, '-a', '127.0.0.1', '-p', String(busyPort), '-l', 'all:ERROR'],
    'a port in use',
  );
  // 2: usage
  add('stunnerctl', 2, () => ['frob'], 'an unknown command');
  add('stunnerctl', 2, () => ['config', '-f', 'dist', '--bogus'], 'an unknown flag');
  add('stunnerctl', 2, () => ['config', '-f', 'dist', '-o', 'xml'], 'a bad value');
  add('stunnerctl', 2, () => ['config', 'nope', '-f', 'dist'], 'a gateway the source does not have');
  add('stunnerctl', 2, () => ['auth', '-f', 'dist', '--url', 'http://x'], 'two sources');
  add('turncat', 2, () => ['--bogus', '-', 'turn://u:p@h:1', 'udp://1.2.3.4:5'], 'an unknown flag');
  add('turncat', 2, () => ['-', 'http://x', 'udp://1.2.3.4:5'], 'a malformed server');
  add('icetest', 2, () => ['-c', 'x', '--count', 'x'], 'a bad value');
  add('icetest', 2, () => ['--bogus'], 'an unknown flag');
  add('stunnerd', 2, () => ['--frob'], 'an unknown flag');
  add('stunnerd', 2, () => ['turn://u:p@127.0.0.1:3478', '--route', 'nowhere'], 'a malformed --route');
  add('stunnerd auth', 2, () => ['-c', dir, '--bogus'], 'an unknown flag');
  add('stunnerd auth', 2, () => [], 'no config');
  // 3: partly done
  add('stunnerctl', 3, () => ['import', join(dir, 'partly.yaml')], 'import: an object it cannot map');

  it('covers every documented code', () => {
    expect(new Set(cases.map(([, code]) => code))).toEqual(new Set(documentedTable().keys()));
  });

  it.each(cases.map(([tool, code, argv, why]) => ({ tool, code, argv, why })))(
    '$tool exits $code: $why',
    async ({ tool, code, argv }) => {
      const r = await run(tool, argv());
      expect(r.code, r.err).toBe(code);
      if (code === ExitCode.USAGE || code === ExitCode.FAILED) expect(r.err).not.toBe('');
      expect(r.err).not.toMatch(/\n\s+at /);
    },
    40_000,
  );
});
