/** Process accounting from /proc: CPU time (all threads), RSS and open file descriptors. */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ; Linux reports utime/stime in these ticks (100 on every mainstream kernel config). */
const TICK_US = 10_000;

/** utime + stime of the whole process (all threads), in microseconds. */
export function cpuMicros(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // comm may contain spaces; fields after the closing paren are fixed.
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  return (Number(rest[11]) + Number(rest[12])) * TICK_US;
}

/** utime + stime per thread of a process (tid -> µs). */
export function threadCpuMicros(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
      const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(rest[11]) + Number(rest[12])) * TICK_US);
    } catch {
      // thread exited meanwhile
    }
  }
  return out;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) * 1024 : 0;
}

export function threadCount(pid: number): number {
  const m = /Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) : 0;
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function machine(): { cores: number; cpuModel: string } {
  const info = readFileSync('/proc/cpuinfo', 'latin1');
  const cores = (info.match(/^processor\s*:/gm) ?? []).length;
  const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim() ?? 'unknown';
  return { cores, cpuModel: model };
}

/** Soft limit on open files of this process (the allocation phase needs one socket per allocation). */
export function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
  if (!m) return 1024;
  return m[1] === 'unlimited' ? 1 << 20 : Number(m[1]);
}

/** CPU time all processes on the machine were busy (user+nice+system+irq+softirq+steal), µs. */
export function systemBusyMicros(): number {
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) * TICK_US;
}
