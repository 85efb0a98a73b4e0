/** Synth-time checks that refuse default and guessable TURN credentials. */

/** Defaults from STUNner's examples and the usual suspects. */
const WELL_KNOWN = new Set([
  'pass',
  'pass-1',
  'password',
  'passw0rd',
  'secret',
  'my-secret',
  'user',
  'user-1',
  'test',
  'admin',
  'changeme',
  'change-me',
  'default',
  'stunner',
  'turn',
  'letmein',
  'qwerty',
  '123456',
  '12345678',
  '123456789',
  '1234567890',
]);

export const MIN_PASSWORD_LENGTH = 12;
export const MIN_SECRET_LENGTH = 16;

/** Why a password or shared secret is weak, or undefined when it is acceptable. */
export function credentialWeakness(
  kind: 'password' | 'shared secret',
  value: string,
  username?: string,
): string | undefined {
  const min = kind === 'password' ? MIN_PASSWORD_LENGTH : MIN_SECRET_LENGTH;
  if (WELL_KNOWN.has(value.toLowerCase())) return `the ${kind} is a well-known default`;
  if (username !== undefined && value === username) return `the ${kind} equals the username`;
  if (value.length < min) return `the ${kind} has ${value.length} characters; use at least ${min}`;
  if (new Set(value).size <= 2) return `the ${kind} repeats one or two characters`;
  return undefined;
}
