/** What every demo server needs: settings from the environment, a log line, a clean SIGTERM. */

export function envNumber(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    log(`${name}=${raw} is not a positive number`);
    process.exit(1);
  }
  return n;
}

export function log(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

/** Runs `stop` on SIGTERM/SIGINT (the kubelet's stop), then exits. */
export function onTerminate(stop: () => void): void {
  const handler = (signal: string) => {
    log(`${signal}: stopping`);
    try {
      stop();
    } finally {
      process.exit(0);
    }
  };
  process.once('SIGTERM', () => handler('SIGTERM'));
  process.once('SIGINT', () => handler('SIGINT'));
}
