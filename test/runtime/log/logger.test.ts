/** Logging: STUNner's level spec syntax, per-scope levels applied in place, one-line format. */
import { describe, expect, it } from 'vitest';
import { createLogger, parseLevelSpec } from '../../../runtime/log/logger.js';

describe('logger', () => {
  it('parses all:INFO,turn:DEBUG and rejects bad specs', () => {
    const p = parseLevelSpec('all:WARN,turn:DEBUG, perimeter:trace');
    expect(p.all).toBe(2);
    expect(p.scopes.get('turn')).toBe(4);
    expect(p.scopes.get('perimeter')).toBe(5);
    expect(parseLevelSpec('ERROR').all).toBe(1);
    expect(() => parseLevelSpec('all:LOUD')).toThrow(/"all:LOUD" is not a valid log level/);
  });

  it('writes `<iso-time> <scope> <LEVEL> <message>` lines only at enabled levels, and re-levels in place', () => {
    const lines: string[] = [];
    const logger = createLogger('all:INFO,turn:DEBUG', (l) => lines.push(l));
    const turn = logger.scope('turn');
    const other = logger.scope('stunnerd');
    turn.debug('d1');
    other.debug('hidden');
    other.info('i1');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z turn DEBUG d1$/);
    expect(lines[1]).toMatch(/ stunnerd INFO i1$/);
    expect(turn.enabled('DEBUG')).toBe(true);
    logger.setLevel('all:ERROR');
    turn.debug('gone');
    other.warn('gone');
    other.error('e1');
    expect(lines.at(-1)).toMatch(/ stunnerd ERROR e1$/);
    expect(lines).toHaveLength(3);
    expect(turn.enabled('DEBUG')).toBe(false);
    // Scopes created later get the current levels.
    logger.setLevel('all:DISABLE,late:TRACE');
    logger.scope('late').trace('t1');
    expect(lines.at(-1)).toMatch(/ late TRACE t1$/);
  });
});
