/**
 * Watches a config file for changes and hands each new, valid config to the runtime.
 *
 * A mounted ConfigMap changes by the kubelet swapping a `..data` symlink inside the mount
 * directory (an atomic rename); editors write in place or remove and recreate the file. Watching
 * the DIRECTORY sees all three, where a watch on the file itself would follow a dead inode. Events
 * are debounced, the content is hashed, and only a changed content is validated and applied.
 * A slow poll backs up the directory watch (missed events, odd file systems).
 */
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatProblems, type StunnerConfig, validateConfigText } from '../../contract/config/index.js';
import type { ScopedLogger } from '../log/logger.js';

export interface ConfigWatcherOptions {
  readonly file: string;
  readonly log: ScopedLogger;
  /** Applies a new valid config. A rejection is logged; the running config stays. */
  readonly apply: (config: StunnerConfig) => Promise<void>;
  /** Content the running config was loaded from, so that it is not re-applied. */
  readonly initialText?: string;
  /** Quiet time after the last file event before reading. @default 100 */
  readonly debounceMs?: number;
  /** A changed content must read the same again after this long before it counts as complete. @default 50 */
  readonly settleMs?: number;
  /** Safety-net poll interval; 0 disables. @default 2000 */
  readonly pollMs?: number;
  /** Variables for `$VAR` substitution. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class ConfigWatcher {
  private fsw: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private lastHash: string | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private missing = false;
  private stopped = false;
  /** Number of configs applied, for status and tests. */
  applied = 0;
  /** Number of new contents rejected as invalid or failing to apply. */
  rejected = 0;

  constructor(private readonly opts: ConfigWatcherOptions) {
    if (opts.initialText !== undefined) this.lastHash = contentHash(opts.initialText);
  }

  start(): void {
    this.watchDir();
    const pollMs = this.opts.pollMs ?? 2000;
    if (pollMs > 0) {
      this.poll = setInterval(() => {
        if (!this.fsw) this.watchDir();
        clearTimeout(this.debounce);
        this.debounce = undefined;
        this.kick();
      }, pollMs);
      this.poll.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.fsw?.close();
    this.fsw = undefined;
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    await this.running;
  }

  /** Resolves once every change seen so far has been checked (and applied or rejected). */
  async settled(): Promise<void> {
    while (this.running || this.debounce) {
      await (this.running ?? new Promise((r) => setTimeout(r, 10)));
    }
  }

  private watchDir(): void {
    if (this.stopped) return;
    try {
      const w = watch(dirname(this.opts.file), { persistent: false }, () => this.schedule());
      w.on('error', (err) => {
        this.opts.log.warn(`config directory watch failed (${err.message}); polling instead`);
        w.close();
        if (this.fsw === w) this.fsw = undefined;
      });
      this.fsw = w;
    } catch (err) {
      this.opts.log.debug(`cannot watch the config directory yet: ${(err as Error).message}`);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.kick();
    }, this.opts.debounceMs ?? 100);
  }

  /** Runs one check at a time; a change seen during a check triggers another. */
  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.check().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async read(): Promise<string | undefined> {
    try {
      const text = await readFile(this.opts.file, 'utf8');
      this.missing = false;
      return text;
    } catch (err) {
      if (!this.missing) {
        this.missing = true;
        this.opts.log.warn(
          `config file ${this.opts.file} unreadable (${(err as NodeJS.ErrnoException).code ?? err}); keeping the running config`,
        );
      }
      return undefined;
    }
  }

  private async check(): Promise<void> {
    const { file, log } = this.opts;
    const text = await this.read();
    if (text === undefined) return;
    const hash = contentHash(text);
    if (hash === this.lastHash || this.stopped) return;
    // A plain write truncates, then writes: only a content that reads the same twice is complete.
    // A content still changing is checked again right after.
    await new Promise((r) => setTimeout(r, this.opts.settleMs ?? 50));
    const again = await this.read();
    if (again === undefined || contentHash(again) !== hash || this.stopped) {
      this.again = true;
      return;
    }
    this.lastHash = hash;
    const r = validateConfigText(text, this.opts.env ? { env: this.opts.env } : {});
    if (!r.ok) {
      this.rejected++;
      const why = formatProblems(r.problems).trim().replace(/\n\s*/g, '; ');
      log.error(`config reload rejected, the running config keeps serving: ${file}: ${why}`);
      return;
    }
    for (const w of r.warnings) log.warn(`${file}: ${w}`);
    try {
      await this.opts.apply(r.config);
      this.applied++;
      log.info(`config reloaded from ${file}`);
    } catch (err) {
      this.rejected++;
      log.error(`config reload failed: ${file}: ${(err as Error).message}`);
    }
  }
}
