/**
 * The config file watcher on a real file system: kubelet-style `..data` symlink swaps, plain
 * writes, remove + recreate, invalid content, and unchanged content.
 */
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StunnerConfig } from '../../../contract/config/index.js';
import { createLogger } from '../../../runtime/log/logger.js';
import { ConfigWatcher } from '../../../runtime/process/config-watcher.js';
import { sleep, until } from '../../helpers/wait.js';

const cfg = (realm: string) =>
  JSON.stringify({ version: 'v1', auth: { realm, credentials: { username: 'u', password: 'p' } } });

describe('ConfigWatcher', () => {
  let dir: string;
  let applied: StunnerConfig[];
  let lines: string[];
  let w: ConfigWatcher | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stunnerd-reload-'));
    applied = [];
    lines = [];
  });
  afterEach(async () => {
    await w?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function start(file: string, initialText: string, pollMs = 0): ConfigWatcher {
    w = new ConfigWatcher({
      file,
      log: createLogger('all:INFO', (l) => lines.push(l)).scope('reload'),
      apply: async (c) => {
        applied.push(c);
      },
      initialText,
      debounceMs: 30,
      pollMs,
    });
    w.start();
    return w;
  }

  it('follows a kubelet ConfigMap update (atomic ..data symlink swap)', async () => {
    // the kubelet layout: <dir>/stunnerd.conf -> ..data/stunnerd.conf, ..data -> ..<timestamp>
    await mkdir(join(dir, '..2026_01'));
    await writeFile(join(dir, '..2026_01', 'stunnerd.conf'), cfg('one'));
    await symlink('..2026_01', join(dir, '..data'));
    await symlink('..data/stunnerd.conf', join(dir, 'stunnerd.conf'));
    start(join(dir, 'stunnerd.conf'), cfg('one'));

    await mkdir(join(dir, '..2026_02'));
    await writeFile(join(dir, '..2026_02', 'stunnerd.conf'), cfg('two'));
    await symlink('..2026_02', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await rm(join(dir, '..2026_01'), { recursive: true });
    await until(() => applied.length === 1);
    expect(applied[0]?.auth.realm).toBe('two');
  });

  it('follows plain writes and remove + recreate, and applies each content once', async () => {
    const file = join(dir, 'stunnerd.conf');
    await writeFile(file, cfg('one'));
    const watcher = start(file, cfg('one'));
    await writeFile(file, cfg('two'));
    await until(() => applied.length === 1);
    expect(applied[0]?.auth.realm).toBe('two');

    await unlink(file);
    await until('the missing file reported', () =>
      lines.some((l) => / WARN config file .* unreadable \(ENOENT\)/.test(l)),
    );
    expect(
      lines.some((l) => / WARN config file .* unreadable \(ENOENT\); keeping the running config/.test(l)),
    ).toBe(true);
    await writeFile(file, cfg('three'));
    await until(() => applied.length === 2);
    expect(applied[1]?.auth.realm).toBe('three');

    await writeFile(file, cfg('three')); // same content: nothing to do
    // a negative check: time for the watcher to see the write, which must apply nothing
    await sleep(150);
    await watcher.settled();
    expect(applied.length).toBe(2);
  });

  it('rejects an invalid config with one clear line and keeps going', async () => {
    const file = join(dir, 'stunnerd.conf');
    await writeFile(file, cfg('one'));
    const watcher = start(file, cfg('one'));
    await writeFile(
      file,
      JSON.stringify({ version: 'v1', auth: { credentials: {} }, listeners: [{ name: 'l', port: 70000 }] }),
    );
    await until(() => watcher.rejected === 1);
    const errs = lines.filter((l) => / ERROR /.test(l));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(
      /config reload rejected, the running config keeps serving: .*stunnerd\.conf: .*listeners\[0\]\.port: 70000 is not a valid port/,
    );
    expect(applied).toHaveLength(0);
    await writeFile(file, 'version: v1\nauth: {credentials: {username: u, password: p}, realm: four}\n');
    await until(() => applied.length === 1);
    expect(applied[0]?.auth.realm).toBe('four');
  });

  it('a rejected reload does not echo a password written as a number', async () => {
    const file = join(dir, 'stunnerd.conf');
    await writeFile(file, cfg('one'));
    const watcher = start(file, cfg('one'));
    await writeFile(file, 'version: v1\nauth: {credentials: {username: u, password: 12345}, realm: r}\n');
    await until(() => watcher.rejected === 1);
    const errs = lines.filter((l) => / ERROR /.test(l));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/auth\.credentials\.password: expected a string, got a number/);
    expect(lines.join('\n')).not.toContain('12345');
  });

  it('waits for a plain write to finish: a file caught truncated is not rejected', async () => {
    const file = join(dir, 'stunnerd.conf');
    await writeFile(file, cfg('one'));
    start(file, cfg('one'), 5);
    // truncate, then write the new content later than the debounce and the poll: the watcher
    // sees the empty file in between
    await writeFile(file, '');
    // not a wait for an event: the gap (past the 5 ms debounce) in which the file is empty
    await sleep(30);
    await writeFile(file, cfg('two'));
    await until(() => applied.length === 1, 2000);
    await w!.settled();
    expect(applied[0]?.auth.realm).toBe('two');
    expect(w!.rejected).toBe(0);
    expect(lines.filter((l) => / ERROR /.test(l))).toEqual([]);
  });

  it('reports a failing apply and catches a missed event by polling', async () => {
    const file = join(dir, 'stunnerd.conf');
    await writeFile(file, cfg('one'));
    w = new ConfigWatcher({
      file,
      log: createLogger('all:INFO', (l) => lines.push(l)).scope('reload'),
      apply: async () => {
        throw new Error('port 3478 is in use');
      },
      initialText: cfg('one'),
      debounceMs: 10_000, // events alone would be far too slow: the poll must find it
      pollMs: 100,
    });
    w.start();
    await writeFile(file, cfg('two'));
    await until(() => w?.rejected === 1, 2000);
    expect(lines.some((l) => /config reload failed: .*port 3478 is in use/.test(l))).toBe(true);
  });
});
