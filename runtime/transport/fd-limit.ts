/**
 * The process's open-file limit (RLIMIT_NOFILE, soft), read from /proc on Linux: relay sockets and
 * stream connections get budgets below it, so that no flood can take the last descriptors (the
 * health server, the config watcher and the log need some too).
 */
import { readFileSync } from 'node:fs';

/** Assumed where /proc cannot say (not Linux): the usual container default. */
export const FALLBACK_FD_LIMIT = 65_536;

export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m?.[1] === undefined) return FALLBACK_FD_LIMIT;
    return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    return FALLBACK_FD_LIMIT;
  }
}

/** Descriptors no budget may take: the listeners, HTTP servers, watchers, files, threads. */
export const FD_HEADROOM = 256;

/** Relay sockets (allocations and reservations) may take 60% of what is left after the headroom. */
export function relaySocketBudget(limit = openFileLimit()): number {
  return Math.max(16, Math.floor((limit - FD_HEADROOM) * 0.6));
}

/** TCP/TLS connections, over every stream listener, may take 30% of it. */
export function streamConnectionBudget(limit = openFileLimit()): number {
  return Math.max(16, Math.floor((limit - FD_HEADROOM) * 0.3));
}
