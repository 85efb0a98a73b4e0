/**
 * A value from the config as it appears in a problem: in double quotes, with newlines, control
 * characters and quotes escaped (JSON's rules), and cut after QUOTE_MAX characters, so that one
 * problem is always one short line and a config value cannot forge lines of the error output.
 */
const QUOTE_MAX = 120;

export function quote(value: unknown): string {
  const s = String(value);
  return s.length > QUOTE_MAX ? `${JSON.stringify(s.slice(0, QUOTE_MAX))}...` : JSON.stringify(s);
}

/** A key inside a problem path: as written when it is a plain name, else quoted. */
export function pathKey(key: string): string {
  return /^[A-Za-z0-9_$-]*$/.test(key) ? key : quote(key);
}

/** A message from a parser (YAML) that may echo input: its first line, at most `max` characters. */
export function firstLine(message: string, max = 300): string {
  const line = message.split('\n')[0]!;
  return line.length > max ? `${line.slice(0, max)}...` : line;
}
