/**
 * Loads the batched UDP I/O module (udp-batch.c) when this platform can run it, else leaves the
 * relay on Node's own dgram path. The bundle that ships in the manifests carries the module inline
 * (bundle.ts injects it as base64) and writes it to the temp dir before loading it; from the
 * repository it loads the committed prebuilt file. STUNNERD_NATIVE=off turns it off.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The committed module, relative to this directory. */
export const PREBUILT_FILE = 'prebuilt/linux-x64/udp-batch.node';
const PLATFORM = 'linux-x64';

export interface UdpBatch {
  /** Drains up to `slots` datagrams into arena[i * slotSize]; see udp-batch.c. */
  recv(fd: number, arena: Buffer, meta: Int32Array, slots: number, slotSize: number): number;
  /** 0, or -errno (EAGAIN when the socket buffer is full). */
  send(fd: number, buf: Buffer, start: number, length: number, ip: number, port: number): number;
  sendChannel(
    fd: number,
    channel: number,
    buf: Buffer,
    start: number,
    length: number,
    ip: number,
    port: number,
  ): number;
  readonly EAGAIN: number;
  readonly version: number;
}

/** Set by the bundler: the module's bytes, base64. Absent when running from the repository. */
declare const __STUNNERD_UDP_BATCH__: string | undefined;

let loaded: UdpBatch | undefined;
let status: string | undefined;

/** The module, or undefined when it is off or cannot load here (see udpBatchStatus()). */
export function udpBatch(): UdpBatch | undefined {
  if (status === undefined) {
    try {
      loaded = load();
      status = loaded ? 'on (recvmmsg batches, numeric-address sends)' : status;
    } catch (e) {
      loaded = undefined;
      status = `off: cannot load (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
    }
  }
  return loaded;
}

/** One line for the startup log: whether batched I/O is in use, and why not. */
export function udpBatchStatus(): string {
  udpBatch();
  return status ?? 'off';
}

function load(): UdpBatch | undefined {
  const setting = process.env['STUNNERD_NATIVE'];
  if (setting === 'off' || setting === '0' || setting === 'false') {
    status = 'off (STUNNERD_NATIVE=off)';
    return undefined;
  }
  const here = `${process.platform}-${process.arch}`;
  if (here !== PLATFORM) {
    status = `off: no module for ${here} (only ${PLATFORM})`;
    return undefined;
  }
  const file = typeof __STUNNERD_UDP_BATCH__ === 'string' ? unpack(__STUNNERD_UDP_BATCH__) : prebuiltPath();
  if (!existsSync(file)) {
    status = `off: ${file} is missing`;
    return undefined;
  }
  const m = { exports: {} as Partial<UdpBatch> };
  process.dlopen(m, file);
  const e = m.exports;
  if (e.version !== 1 || typeof e.recv !== 'function' || typeof e.sendChannel !== 'function') {
    status = 'off: the module is not the version this runtime expects';
    return undefined;
  }
  return e as UdpBatch;
}

function prebuiltPath(): string {
  return fileURLToPath(new URL(PREBUILT_FILE, import.meta.url));
}

/** Writes the inline module once per content (threads and restarts reuse it) and returns its path. */
function unpack(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  const id = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'stunnerd-native');
  const file = join(dir, `udp-batch-${id}.node`);
  if (existsSync(file) && readFileSync(file).equals(bytes)) return file;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, bytes, { mode: 0o500 });
  renameSync(tmp, file);
  return file;
}
