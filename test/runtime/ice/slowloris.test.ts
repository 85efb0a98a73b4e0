/**
 * Slowloris against the ICE auth service, started as the pod starts it (`stunnerd auth`, in its
 * own process, with the shipped defaults): one client IP holds 1,024 connections that each send
 * half a request. Probes and callers from another IP must still be answered at once, and the
 * half-sent connections must be closed by the request deadline, not by Node's 30 s sweep.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP } from '../../../contract/defaults.js';
import { REQUEST_DEADLINE_MS } from '../../../runtime/ice/server.js';
import { freeTcpPort } from '../../helpers/net.js';
import { until } from '../../helpers/wait.js';
import { ephemeralGateway } from './fixtures.js';

const MAIN = new URL('../../../runtime/main.ts', import.meta.url).pathname;
const HALF_SENT = 1024;
const PROBES = 48;

let dir: string;
let proc: ChildProcess;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ice-slowloris-'));
  await writeFile(join(dir, 'stunnerd.conf'), JSON.stringify(ephemeralGateway()));
  port = await freeTcpPort();
  proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      MAIN,
      'auth',
      '-c',
      join(dir, 'stunnerd.conf'),
      '-p',
      String(port),
      '-a',
      '127.0.0.1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  await until('stunnerd auth ready', () => out.includes('stunnerd auth ready'), 20_000);
});

afterAll(async () => {
  if (proc?.exitCode === null) proc.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** One connection from `localAddress` that sends a request line and one header, never the blank line. */
function halfSent(
  localAddress: string,
): Promise<{ socket: Socket; opened: number; closed: Promise<number> }> {
  return new Promise((resolve) => {
    const opened = Date.now();
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
    socket.on('error', () => {}); // a reset is one way the server may close it
    socket.once('connect', () => {
      socket.write('GET /live HTTP/1.1\r\nHost: stunner-auth\r\n');
      resolve({ socket, opened, closed });
    });
    socket.once('close', () => resolve({ socket, opened, closed }));
  });
}

/** GET /live from `localAddress` on a fresh connection; the status, or 0 when none came within `ms`. */
function live(localAddress: string, ms: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/live', localAddress, agent: false, timeout: ms },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', () => resolve(0));
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
    req.end();
  });
}

describe('ICE auth service under slowloris from one IP', () => {
  it(`answers ${PROBES} /live from another IP within 1 s while ${HALF_SENT} half-sent requests are open, and closes those within the deadline`, async () => {
    const conns = [];
    for (let i = 0; i < HALF_SENT; i += 64) {
      conns.push(...(await Promise.all(Array.from({ length: 64 }, () => halfSent('127.0.0.1')))));
    }
    const start = Date.now();
    const statuses = await Promise.all(Array.from({ length: PROBES }, () => live('127.0.0.2', 1000)));
    const tookMs = Date.now() - start;
    expect(statuses.filter((s) => s === 200).length, `answered /live (in ${tookMs} ms)`).toBe(PROBES);
    expect(tookMs).toBeLessThan(1000);

    // The cap refuses most of them at accept; the rest are closed by the deadline.
    const closeAt = await Promise.all(
      conns.map((c) =>
        Promise.race([
          c.closed,
          new Promise<number>((r) => setTimeout(() => r(-1), REQUEST_DEADLINE_MS + 3000)),
        ]),
      ),
    );
    const open = closeAt.filter((t) => t < 0).length;
    expect(open, 'half-sent connections still open after the deadline').toBe(0);
    const held = conns.map((c, i) => closeAt[i]! - c.opened);
    const heldLongest = Math.max(...held);
    const refusedAtAccept = held.filter((ms) => ms < REQUEST_DEADLINE_MS / 2).length;
    expect(heldLongest).toBeLessThan(REQUEST_DEADLINE_MS + 1500);
    expect(refusedAtAccept).toBeGreaterThanOrEqual(HALF_SENT - DEFAULT_ICE_AUTH_MAX_CONNECTIONS_PER_IP);
    console.log(
      `slowloris: ${PROBES}/${PROBES} /live answered in ${tookMs} ms; ${refusedAtAccept} of ${HALF_SENT} refused at accept; longest held ${heldLongest} ms (deadline ${REQUEST_DEADLINE_MS} ms)`,
    );
    for (const c of conns) c.socket.destroy();
  }, 30_000);
});
