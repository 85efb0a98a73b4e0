/**
 * The per-client-IP failed-authentication limit (admin.auth_failures_per_ip, issue 15). An IP's
 * window opens at its first failure and lasts AUTH_FAILURE_WINDOW_S seconds; once it has made
 * `limit` failures in its window, its TURN requests are dropped until the window ends, and then it
 * starts afresh. A correct password is thus refused for at most one window. Failures while
 * blocked are not counted (they are never authenticated), so a flood cannot extend the block.
 * The table is bounded: past MAX_TRACKED addresses, expired windows are swept, and if it is still
 * full new addresses go untracked (the limit fails open, never closed).
 */
import { AUTH_FAILURE_WINDOW_S } from '../../../contract/config/index.js';
import type { AuthFailureLimit } from '../../turn/hooks.js';

const MAX_TRACKED = 65_536;

interface Window {
  start: number;
  failures: number;
}

export class AuthFailureLimiter implements AuthFailureLimit {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs = AUTH_FAILURE_WINDOW_S * 1000;

  constructor(
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  blocked(ip: string): boolean {
    const w = this.windows.get(ip);
    if (w === undefined || w.failures < this.limit) return false;
    if (this.now() - w.start >= this.windowMs) {
      this.windows.delete(ip);
      return false;
    }
    return true;
  }

  failed(ip: string): void {
    const t = this.now();
    const w = this.windows.get(ip);
    if (w !== undefined && t - w.start < this.windowMs) {
      w.failures++;
      return;
    }
    if (w === undefined && this.windows.size >= MAX_TRACKED) {
      for (const [k, v] of this.windows) if (t - v.start >= this.windowMs) this.windows.delete(k);
      if (this.windows.size >= MAX_TRACKED) return;
    }
    this.windows.set(ip, { start: t, failures: 1 });
  }

  /** Addresses tracked now (tests). */
  get size(): number {
    return this.windows.size;
  }
}

/** The limiter for admin.auth_failures_per_ip, or undefined when it is 0 (off). */
export function authFailureLimit(limit: number, now?: () => number): AuthFailureLimiter | undefined {
  return limit > 0 ? new AuthFailureLimiter(limit, now) : undefined;
}
