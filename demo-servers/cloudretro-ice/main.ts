/**
 * The CloudRetro coordinator's ICE step (a sidecar in the coordinator's pod): asks the ICE auth
 * service(s) for the gateways' ICE servers (`GET /ice`) and writes them in CloudRetro's own
 * formats into the directory the coordinator reads: `config.yaml` (CloudRetro's config file,
 * `webrtc.iceServers`) and `ice.env` (the same servers as `CLOUD_GAME_WEBRTC_ICESERVERS_<n>_*`
 * assignments, which the coordinator's command sources). What replaces the scripts of STUNner's
 * CloudRetro tutorial that read the gateway's address and patch the coordinator.
 *
 * It asks again every CLOUDRETRO_ICE_POLL_SECONDS and rewrites the files when a gateway's address
 * changed, and before ephemeral credentials expire (at 80% of their life). CloudRetro reads its
 * config once, at start: after each rewrite `GET /coordinator` (the coordinator's liveness probe)
 * answers 503 once, so the kubelet restarts the coordinator onto the new config. When a service
 * does not answer, it logs why, keeps the last good files, and `/status` says so.
 *
 *   GET /ready        200 once a config is written (the sidecar's startup probe), else 503
 *   GET /live         200
 *   GET /coordinator  503 once after each rewrite, else 200
 *   GET /status       JSON: the servers' URLs, when written, the last error
 *
 * Its status server has the limits of every demo server (demo-servers/shared/http.ts).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  type CloudRetroIceServer,
  cloudRetroIceEnvFile,
  cloudRetroIceYaml,
  toCloudRetroIceServers,
} from '../../contract/cloudretro.js';
import { DEMO_DEFAULTS, DemoEnv } from '../../contract/demo-layout.js';
import { getIceConfig } from '../../runtime/ice/client.js';
import { envNumber, log, onTerminate } from '../shared/env.js';
import { createDemoServer } from '../shared/http.js';
import { credentialExpiry } from '../shared/ice.js';

interface Source {
  readonly url: string;
  readonly namespace?: string;
  readonly gateway?: string;
  /** A file holding the API key this service requires (another cluster's); read at each ask. */
  readonly keyFile?: string;
}

/** The API key in `file`, read afresh (a rotated Secret is picked up); a missing key is an error. */
function readKey(file: string): string {
  let key: string;
  try {
    key = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new Error(`API key file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if (key === '') throw new Error(`API key file ${file} is empty`);
  return key;
}

function fail(why: string): never {
  log(`cloudretro-ice: ${why}`);
  process.exit(1);
}

function sourcesFromEnv(): Source[] {
  const raw = process.env[DemoEnv.CLOUDRETRO_ICE_SOURCES];
  if (!raw) fail(`${DemoEnv.CLOUDRETRO_ICE_SOURCES} is not set: a JSON list of {url, namespace?, gateway?}`);
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    fail(`${DemoEnv.CLOUDRETRO_ICE_SOURCES} is not JSON`);
  }
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s?.url === 'string'))
    fail(`${DemoEnv.CLOUDRETRO_ICE_SOURCES} must be a non-empty list of {url, namespace?, gateway?}`);
  return list as Source[];
}

const sources = sourcesFromEnv();
const dir = process.env[DemoEnv.CLOUDRETRO_CONFIG_DIR] || fail(`${DemoEnv.CLOUDRETRO_CONFIG_DIR} is not set`);
const port = envNumber(DemoEnv.PORT, DEMO_DEFAULTS.cloudRetroIcePort);
const pollMs = envNumber(DemoEnv.CLOUDRETRO_ICE_POLL_SECONDS, DEMO_DEFAULTS.cloudRetroIcePollSeconds) * 1000;
const ttl = envNumber(DemoEnv.ICE_TTL_SECONDS, 86400);
const where = sources.map((s) => s.url).join(', ');

let written: { servers: CloudRetroIceServer[]; at: number; refreshAt: number } | undefined;
/** Rewrites the coordinator has not been restarted for. */
let pendingRestart = false;
let lastError: string | undefined;

/** What makes a rewrite necessary at once: the URLs, and static credentials (ephemeral ones are timed). */
function identity(servers: readonly CloudRetroIceServer[], ephemeral: boolean): string {
  return JSON.stringify(servers.map((s) => (ephemeral ? s.urls : [s.urls, s.username, s.credential])));
}

async function fetchAll(): Promise<{ servers: CloudRetroIceServer[]; expiry: number | undefined }> {
  const servers: CloudRetroIceServer[] = [];
  let expiry: number | undefined;
  for (const s of sources) {
    const ice = await getIceConfig({
      url: s.url,
      ...(s.namespace !== undefined ? { namespace: s.namespace } : {}),
      ...(s.gateway !== undefined ? { gateway: s.gateway } : {}),
      ...(typeof s.keyFile === 'string' ? { key: readKey(s.keyFile) } : {}),
      username: 'cloudretro',
      ttl,
      iceTransportPolicy: 'all',
    });
    servers.push(...toCloudRetroIceServers(ice.iceServers));
    const e = credentialExpiry(ice);
    if (e !== undefined) expiry = expiry === undefined ? e : Math.min(expiry, e);
  }
  return { servers, expiry };
}

function write(servers: CloudRetroIceServer[]): void {
  mkdirSync(dir, { recursive: true });
  const header = `written by cloudretro-ice at ${new Date().toISOString()} from ${where}`;
  for (const [file, text] of [
    [DEMO_DEFAULTS.cloudRetroConfigFile, cloudRetroIceYaml(servers, header)],
    [DEMO_DEFAULTS.cloudRetroEnvFile, cloudRetroIceEnvFile(servers, header)],
  ] as const) {
    const path = join(dir, file);
    writeFileSync(`${path}.tmp`, text, { mode: 0o644 });
    renameSync(`${path}.tmp`, path); // the coordinator never reads half a file
  }
}

async function tick(): Promise<void> {
  let got: Awaited<ReturnType<typeof fetchAll>>;
  try {
    got = await fetchAll();
  } catch (e) {
    lastError = `cannot get the ICE servers from ${where}: ${(e as Error).message}`;
    log(
      `cloudretro-ice: ${lastError}; ${written ? `keeping the last good config (written ${new Date(written.at).toISOString()})` : 'no config written yet'}`,
    );
    return;
  }
  if (got.servers.length === 0) {
    lastError = `the ICE auth service at ${where} returned no ICE servers`;
    log(`cloudretro-ice: ${lastError}; keeping the last good config`);
    return;
  }
  lastError = undefined;
  const now = Date.now();
  const ephemeral = got.expiry !== undefined;
  const changed =
    written === undefined || identity(written.servers, ephemeral) !== identity(got.servers, ephemeral);
  if (!changed && now < written!.refreshAt) return;
  const reason = written === undefined ? 'first config' : changed ? 'ICE servers changed' : 'credentials due';
  write(got.servers);
  if (written !== undefined) pendingRestart = true;
  written = {
    servers: got.servers,
    at: now,
    refreshAt: got.expiry === undefined ? Number.POSITIVE_INFINITY : now + (got.expiry - now) * 0.8,
  };
  log(`cloudretro-ice: wrote ${dir}/ (${reason}): ${got.servers.map((s) => s.urls).join(' ')}`);
}

let timer: NodeJS.Timeout | undefined;
let stopped = false;
async function loop(): Promise<void> {
  await tick();
  if (!stopped) timer = setTimeout(() => void loop(), written ? pollMs : Math.min(pollMs, 2000));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

const http = createDemoServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/live') return send(res, 200, { status: 'ok' });
  if (path === '/ready')
    return written
      ? send(res, 200, { status: 'ok' })
      : send(res, 503, { status: 'no config yet', lastError });
  if (path === '/coordinator') {
    if (!pendingRestart) return send(res, 200, { status: 'ok' });
    pendingRestart = false;
    return send(res, 503, { status: 'config rewritten: restart the coordinator' });
  }
  if (path === '/status')
    return send(res, lastError ? 503 : 200, {
      urls: written?.servers.map((s) => s.urls) ?? [],
      writtenAt: written ? new Date(written.at).toISOString() : null,
      lastError: lastError ?? null,
    });
  send(res, 404, { status: 'not found' });
});

const podIP = process.env[DemoEnv.POD_IP] || undefined;
http.listen(port, podIP, () => {
  log(`cloudretro-ice ready on ${podIP ?? ''}:${port}, asking ${where} every ${pollMs / 1000} s`);
  void loop();
});
onTerminate(() => {
  stopped = true;
  clearTimeout(timer);
  http.close();
});
