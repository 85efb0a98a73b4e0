/**
 * Scoped, leveled single-line logging: `<iso-time> <scope> <LEVEL> <message>`.
 * Level specs use STUNner's syntax, e.g. `all:INFO,turn:DEBUG`. Levels are resolved into plain
 * numbers per scope, so that `enabled()` is a field read on any path that asks.
 */
export const LEVELS = ['DISABLE', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'] as const;
export type Level = (typeof LEVELS)[number];

export const DISABLE = 0;
export const ERROR = 1;
export const WARN = 2;
export const INFO = 3;
export const DEBUG = 4;
export const TRACE = 5;

/**
 * The logging calls a component makes: the one logger interface of the runtime. A ScopedLogger is
 * one; components that log only these (the ICE auth service) take a Log.
 */
export interface Log {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

/** A Log that drops everything. */
export const silentLog: Log = { error() {}, warn() {}, info() {}, debug() {} };

export interface ScopedLogger extends Log {
  readonly name: string;
  /** Current numeric level of this scope (0 = disabled ... 5 = trace). */
  level: number;
  trace(msg: string): void;
  enabled(level: Level): boolean;
}

export interface Logger {
  scope(name: string): ScopedLogger;
  /** Applies a new level spec to every scope, in place. Throws on a malformed spec. */
  setLevel(spec: string): void;
  readonly spec: string;
}

export type LogSink = (line: string, level: number) => void;

const defaultSink: LogSink = (line, level) => {
  if (level <= WARN) process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
};

/** Parses `all:INFO,turn:DEBUG` into a default level and per-scope levels. */
export function parseLevelSpec(spec: string): { all: number; scopes: Map<string, number> } {
  let all = INFO;
  const scopes = new Map<string, number>();
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const colon = item.lastIndexOf(':');
    const scope = colon < 0 ? 'all' : item.slice(0, colon).trim();
    const lvlName = (colon < 0 ? item : item.slice(colon + 1)).trim().toUpperCase();
    const lvl = LEVELS.indexOf(lvlName as Level);
    if (lvl < 0 || scope === '') {
      throw new Error(
        `"${item}" is not a valid log level; expected scope:LEVEL with LEVEL one of ${LEVELS.join(', ')}`,
      );
    }
    if (scope === 'all' || scope === '*') all = lvl;
    else scopes.set(scope, lvl);
  }
  return { all, scopes };
}

class Scope implements ScopedLogger {
  level = INFO;
  constructor(
    readonly name: string,
    private readonly sink: LogSink,
  ) {}
  private write(level: number, tag: string, msg: string): void {
    if (level > this.level) return;
    this.sink(`${new Date().toISOString()} ${this.name} ${tag} ${msg}`, level);
  }
  error(msg: string): void {
    this.write(ERROR, 'ERROR', msg);
  }
  warn(msg: string): void {
    this.write(WARN, 'WARN', msg);
  }
  info(msg: string): void {
    this.write(INFO, 'INFO', msg);
  }
  debug(msg: string): void {
    this.write(DEBUG, 'DEBUG', msg);
  }
  trace(msg: string): void {
    this.write(TRACE, 'TRACE', msg);
  }
  enabled(level: Level): boolean {
    return LEVELS.indexOf(level) <= this.level;
  }
}

class LoggerImpl implements Logger {
  private readonly scopes = new Map<string, Scope>();
  private all = INFO;
  private perScope = new Map<string, number>();
  spec: string;

  constructor(
    spec: string,
    private readonly sink: LogSink,
  ) {
    this.spec = spec;
    this.setLevel(spec);
  }

  scope(name: string): ScopedLogger {
    let s = this.scopes.get(name);
    if (!s) {
      s = new Scope(name, this.sink);
      s.level = this.perScope.get(name) ?? this.all;
      this.scopes.set(name, s);
    }
    return s;
  }

  setLevel(spec: string): void {
    const { all, scopes } = parseLevelSpec(spec);
    this.all = all;
    this.perScope = scopes;
    this.spec = spec;
    for (const [name, s] of this.scopes) s.level = scopes.get(name) ?? all;
  }
}

export function createLogger(spec = 'all:INFO', sink: LogSink = defaultSink): Logger {
  return new LoggerImpl(spec, sink);
}
