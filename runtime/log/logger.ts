/**
 * Scoped, leveled single-line logging, as text (the default): `<iso-time> <scope> <LEVEL> <message>
 * [key=value ...]`, or as JSON (`--log-format json`): one object per line with `time`, `level`,
 * `component` (the scope), `message` and, when a call gives any, `fields`. Both formats carry the
 * same events. The format is a constructor argument; its default comes from STUNNERD_LOG_FORMAT,
 * which the CLIs set for `--log-format` so that relay threads (which inherit the environment) log
 * alike.
 * Level specs use STUNner's syntax, e.g. `all:INFO,turn:DEBUG`. Levels are resolved into plain
 * numbers per scope, so that `enabled()` is a field read on any path that asks.
 */
import { LOG_LEVELS } from '../../contract/config/types.js';
import { LOG_FORMATS, type LogFormat } from '../../contract/defaults.js';

/** The config's log levels (contract/), most severe first. */
export const LEVELS = LOG_LEVELS;
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
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
}

/** Structured context of a log event (JSON: under `fields`; text: appended as key=value). */
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export { LOG_FORMATS, type LogFormat };
/** The environment variable that selects the default format (set by `--log-format`). */
export const LOG_FORMAT_ENV = 'STUNNERD_LOG_FORMAT';

/** Validates a `--log-format` value. */
export function parseLogFormat(value: string): LogFormat {
  const v = value.trim().toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(v)) {
    throw new Error(`"${value}" is not a log format; use ${LOG_FORMATS.join(' or ')}`);
  }
  return v as LogFormat;
}

/** The format of STUNNERD_LOG_FORMAT, else text. */
export function defaultLogFormat(env: NodeJS.ProcessEnv = process.env): LogFormat {
  const v = env[LOG_FORMAT_ENV];
  return v !== undefined && (LOG_FORMATS as readonly string[]).includes(v.toLowerCase())
    ? (v.toLowerCase() as LogFormat)
    : 'text';
}

/**
 * Makes `--log-format` the default of this process and the threads it starts. In JSON mode, Node's
 * own process warnings (deprecations from bundled dependencies) become JSON lines too, so that a
 * log pipeline never meets a line it cannot parse.
 */
export function setDefaultLogFormat(format: LogFormat): void {
  process.env[LOG_FORMAT_ENV] = format;
  if (format !== 'json') return;
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    process.stderr.write(`${formatLogLine('json', 'WARN', 'node', `${w.name}: ${w.message}`)}\n`);
  });
}

function textValue(v: string | number | boolean | null | undefined): string {
  if (typeof v === 'string' && /^[^\s"=]+$/.test(v)) return v;
  return JSON.stringify(v ?? null);
}

/** One log line in the given format (also for lines printed regardless of level, like `ready`). */
export function formatLogLine(
  format: LogFormat,
  level: Level,
  component: string,
  message: string,
  fields?: LogFields,
  time: Date = new Date(),
): string {
  const entries = fields === undefined ? [] : Object.entries(fields).filter(([, v]) => v !== undefined);
  if (format === 'json') {
    const o: Record<string, unknown> = { time: time.toISOString(), level, component, message };
    if (entries.length > 0) o.fields = Object.fromEntries(entries);
    return JSON.stringify(o);
  }
  const tail = entries.map(([k, v]) => ` ${k}=${textValue(v)}`).join('');
  return `${time.toISOString()} ${component} ${level} ${message}${tail}`;
}

/** A Log that drops everything. */
export const silentLog: Log = { error() {}, warn() {}, info() {}, debug() {} };

export interface ScopedLogger extends Log {
  readonly name: string;
  /** Current numeric level of this scope (0 = disabled ... 5 = trace). */
  level: number;
  trace(msg: string, fields?: LogFields): void;
  enabled(level: Level): boolean;
}

export interface Logger {
  scope(name: string): ScopedLogger;
  /** Applies a new level spec to every scope, in place. Throws on a malformed spec. */
  setLevel(spec: string): void;
  readonly spec: string;
  readonly format: LogFormat;
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
    private readonly format: LogFormat,
  ) {}
  private write(level: number, tag: Level, msg: string, fields: LogFields | undefined): void {
    if (level > this.level) return;
    this.sink(formatLogLine(this.format, tag, this.name, msg, fields), level);
  }
  error(msg: string, fields?: LogFields): void {
    this.write(ERROR, 'ERROR', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write(WARN, 'WARN', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write(INFO, 'INFO', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.write(DEBUG, 'DEBUG', msg, fields);
  }
  trace(msg: string, fields?: LogFields): void {
    this.write(TRACE, 'TRACE', msg, fields);
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
    readonly format: LogFormat,
  ) {
    this.spec = spec;
    this.setLevel(spec);
  }

  scope(name: string): ScopedLogger {
    let s = this.scopes.get(name);
    if (!s) {
      s = new Scope(name, this.sink, this.format);
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

/** @param format text or json. @default STUNNERD_LOG_FORMAT, else text */
export function createLogger(
  spec = 'all:INFO',
  sink: LogSink = defaultSink,
  format: LogFormat = defaultLogFormat(),
): Logger {
  return new LoggerImpl(spec, sink, format);
}
