/**
 * The mounted dataplane configs the auth service answers from: files, or directories of files
 * (a ConfigMap mount: entries starting with '.' are the kubelet's bookkeeping and skipped).
 * Polled for changes, which also catches the kubelet's atomic symlink swap. A file that turns
 * invalid keeps its last good config serving; a file that disappears is dropped.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import {
  type ConfigResult,
  formatProblems,
  isTlsProtocol,
  listenerProtocolOf,
  type StunnerConfig,
  validateConfig,
  validateConfigText,
} from '../../contract/config/index.js';
import { RUNTIME_ENV_PREFIX, RuntimeEnv } from '../../contract/pod-env.js';
import type { Log } from '../log/logger.js';

/** Bounds: a config is a few KiB; a mount holds a handful of files. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
export const MAX_CONFIG_FILES = 256;

export interface ConfigFilesOptions {
  /** Files or directories. */
  readonly paths: readonly string[];
  /** Called after every scan that changed the set of good configs. */
  readonly onChange?: (configs: ReadonlyMap<string, StunnerConfig>) => void;
  readonly logger?: Log;
  /** @default 1000 */
  readonly pollIntervalMs?: number;
  /**
   * Variables for `$VAR` substitution. @default process.env without `STUNNER_*`: those describe
   * the auth service's own pod, not the gateway's (`$STUNNER_ADDR` must not become our pod IP),
   * and with `STUNNER_ADDR=0.0.0.0`, a wildcard nobody is told to dial.
   */
  readonly env?: NodeJS.ProcessEnv;
}

interface Entry {
  text: string;
  config: StunnerConfig | undefined;
}

const byPath = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

export function gatewayEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith(RUNTIME_ENV_PREFIX)) out[k] = v;
  // The gateway's pod address is unknown here: a wildcard, so that such listeners are never
  // advertised with a made-up address (they need a public address instead).
  out[RuntimeEnv.ADDR] = '0.0.0.0';
  return out;
}

// The auth service never terminates TLS, so it is not given the gateways' private keys: a TLS or
// DTLS listener without cert/key gets a stand-in so that the rest of its config validates.
const STAND_IN_PEM = Buffer.from('-----BEGIN STAND-IN-----\n-----END STAND-IN-----\n').toString('base64');

/**
 * Validates a config as the auth service needs it: everything but TLS material, the perimeter
 * and the gateway's admin endpoints.
 * Clusters and routes play no part in ICE answers, and their `$STUNNER_ADDR` endpoints (headless
 * routes) only make sense in the gateway's own pod, so they are left out here.
 */
export function validateForAuth(text: string, env: NodeJS.ProcessEnv): ConfigResult {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) return validateConfigText(text, { env }); // reports line and column
  const raw: unknown = doc.toJS();
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const config = raw as Record<string, unknown>;
    if ('clusters' in config) config['clusters'] = [];
    // The gateway's own health and metrics endpoints are not ours to check either.
    const admin = config['admin'];
    if (admin !== null && typeof admin === 'object' && !Array.isArray(admin)) {
      const a = admin as Record<string, unknown>;
      if ('healthcheck_endpoint' in a) a['healthcheck_endpoint'] = '';
      if ('metrics_endpoint' in a) a['metrics_endpoint'] = '';
    }
  }
  if (raw !== null && typeof raw === 'object' && Array.isArray((raw as { listeners?: unknown }).listeners)) {
    for (const l of (raw as { listeners: unknown[] }).listeners) {
      if (l === null || typeof l !== 'object') continue;
      const listener = l as Record<string, unknown>;
      if ('routes' in listener) listener['routes'] = [];
      const protocol =
        typeof listener['protocol'] === 'string' ? listenerProtocolOf(listener['protocol']) : undefined;
      if (protocol === undefined || !isTlsProtocol(protocol)) continue;
      if (listener['cert'] === undefined || listener['cert'] === '') listener['cert'] = STAND_IN_PEM;
      if (listener['key'] === undefined || listener['key'] === '') listener['key'] = STAND_IN_PEM;
    }
  }
  return validateConfig(raw, { env });
}

export class ConfigFiles {
  readonly #opts: ConfigFilesOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #missing = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #env: NodeJS.ProcessEnv;

  constructor(opts: ConfigFilesOptions) {
    if (opts.paths.length === 0) throw new Error('no config path given');
    this.#opts = opts;
    this.#env = opts.env ?? gatewayEnv();
  }

  /** Loads once, then keeps polling. */
  async start(): Promise<void> {
    await this.scan();
    const every = this.#opts.pollIntervalMs ?? 1000;
    this.#timer = setInterval(() => void this.scan(), every);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The good configs by file path, sorted by path so that answers are stable. */
  configs(): ReadonlyMap<string, StunnerConfig> {
    const out = new Map<string, StunnerConfig>();
    // Numeric-aware, so that the bootstrap's merged `10-stunnerd.conf` sorts after `9-...`.
    for (const path of [...this.#entries.keys()].sort(byPath)) {
      const c = this.#entries.get(path)!.config;
      if (c !== undefined) out.set(path, c);
    }
    return out;
  }

  /** One pass over the paths; concurrent calls share the pass in flight. */
  scan(): Promise<void> {
    this.#scanning ??= this.#scan().finally(() => {
      this.#scanning = undefined;
    });
    return this.#scanning;
  }

  async #scan(): Promise<void> {
    const log = this.#opts.logger;
    const files = await this.#listFiles();
    let changed = false;
    for (const path of [...this.#entries.keys()]) {
      if (!files.includes(path)) {
        this.#entries.delete(path);
        log?.info(`config ${path} removed`);
        changed = true;
      }
    }
    for (const path of files) {
      let text: string;
      try {
        const st = await stat(path);
        if (st.size > MAX_CONFIG_BYTES) {
          log?.warn(`config ${path}: ${st.size} bytes is too large (at most ${MAX_CONFIG_BYTES}); ignored`);
          continue;
        }
        text = await readFile(path, 'utf8');
      } catch (e) {
        log?.warn(`config ${path}: cannot read: ${(e as Error).message}`);
        continue;
      }
      const prev = this.#entries.get(path);
      if (prev !== undefined && prev.text === text) continue;
      const r = validateForAuth(text, this.#env);
      if (r.ok) {
        this.#entries.set(path, { text, config: r.config });
        log?.info(
          `config ${path} loaded (gateway ${r.config.admin.name}, ${r.config.listeners.length} listeners)`,
        );
        changed = true;
      } else {
        // Keep serving the last good config of this file, if any.
        this.#entries.set(path, { text, config: prev?.config });
        log?.error(`config ${path} is invalid; keeping the previous one:\n${formatProblems(r.problems)}`);
      }
    }
    if (changed) this.#opts.onChange?.(this.configs());
  }

  async #listFiles(): Promise<string[]> {
    const out: string[] = [];
    for (const p of this.#opts.paths) {
      let st: Awaited<ReturnType<typeof stat>>;
      try {
        st = await stat(p);
        if (this.#missing.delete(p)) this.#opts.logger?.info(`config path ${p} appeared`);
      } catch (e) {
        // Not mounted (yet): answers come from the other paths. Said once, not every poll.
        if (!this.#missing.has(p)) {
          this.#missing.add(p);
          this.#opts.logger?.warn(
            `config path ${p}: ${(e as NodeJS.ErrnoException).code ?? 'cannot stat'}; skipped`,
          );
        }
        continue;
      }
      if (st.isFile()) {
        out.push(p);
        continue;
      }
      if (!st.isDirectory()) continue;
      let names: string[];
      try {
        names = (await readdir(p)).filter((n) => !n.startsWith('.')).sort(byPath);
      } catch {
        continue;
      }
      for (const n of names) {
        if (out.length >= MAX_CONFIG_FILES) break;
        const full = join(p, n);
        try {
          if ((await stat(full)).isFile()) out.push(full);
        } catch {
          // vanished between readdir and stat
        }
      }
    }
    return [...new Set(out)];
  }
}
