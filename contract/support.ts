/**
 * What this runtime supports beyond what the config schema allows. The runtime refuses such a
 * config at start, and the constructs fail synth on it, from this one list.
 */

import type { StunnerConfig } from './config/types.js';
import type { ConfigProblem } from './config/validate.js';

export function unsupportedProblems(config: StunnerConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  config.listeners.forEach((l, i) => {
    if (l.protocol === 'TURN-DTLS') {
      out.push({
        path: `listeners[${i}].protocol`,
        message: 'TURN-DTLS is not supported by this runtime yet',
      });
    }
  });
  return out;
}
