/**
 * Text from a server (a TURN REALM or reason phrase, a /status or /ice answer) made safe to print
 * on a terminal: every C0 control (ESC, BEL, CR, newline and tab included), DEL and C1 control is
 * written as a visible `\u00HH` escape, so that a hostile server can neither send escape sequences
 * (recolouring, retitling, rewriting the screen) nor forge lines of our output. The escape is
 * JSON's, so that JSON output stays valid (JSON.stringify leaves DEL and C1 raw).
 */
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/g;
const CONTROLS_BUT_NEWLINE = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/g;

const hex = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One field of server text, for one line of output: no control character at all. */
export function printable(s: string): string {
  return s.replace(CONTROLS, hex);
}

/** Output that is ours and several lines long, with server text inside: newlines kept, no other control. */
export function printableLines(s: string): string {
  return s.replace(CONTROLS_BUT_NEWLINE, hex);
}
