/**
 * icetest's command line, apart from the test itself so that `stunnerctl --help` and completion
 * load none of it: the options of `stunnerctl icetest` and of the pods' `stunnerd icetest`.
 */
import { type Argv, valued } from '../../runtime/args/cli.js';

export const ICETEST_DESCRIPTION =
  'end-to-end check of a gateway: allocate, relay, report loss and RTT per listener';

export const ICETEST_EXIT_CODES = `exit codes: 0 every listener passed, 1 a step failed (the line names it: unreachable, 401, 403,
no relay, loss, config), 2 usage (docs/cli.md)`;

/** Declares icetest's options (on `stunnerctl icetest` or the pods' `stunnerd icetest`). */
export function icetestOptions(y: Argv): Argv {
  return y
    .positional('gateway', {
      type: 'string',
      describe: 'only this gateway (<namespace>/<gateway> or <gateway>)',
    })
    .option('config', { ...valued('a dataplane config (repeatable)'), alias: 'c' })
    .option('f', valued('synthesized YAML (dist/)'))
    .option('url', valued("a runtime's /status"))
    .option('kubeconfig', valued('a live cluster'))
    .option('context', valued('the kubeconfig context'))
    .group(['config', 'f', 'url', 'kubeconfig', 'context'], 'Source (one of):')
    .option('listener', valued('only this listener (a TURN-TLS one is tested only when named here)'))
    .option('address', valued("dial this address instead of the listeners' public addresses"))
    .option(
      'peer',
      valued(
        'udp://<ip>:<port>: an echo backend (default: relay through two allocations to itself, which needs a headless route)',
      ),
    )
    .option('count', { ...valued('packets per listener (default 50)'), alias: 'n' })
    .option('rate', valued('packets per second (default 50)'))
    .option('size', valued('payload size in bytes (default 100)'))
    .option('max-loss', valued('highest loss in percent that passes (default 0)'))
    .option('timeout', valued('longest wait in ms for a TURN answer and for the echoes (default 3000)'))
    .option('secret-file', valued('credentials when the config carries none (a Secret YAML)'))
    .option('user-id', valued('user id of minted ephemeral credentials (default icetest)'))
    .option('insecure', { type: 'boolean', describe: 'TLS: do not verify the server certificate' })
    .option('sni', valued('TLS: server name to send and verify'))
    .option('output', { ...valued('text or json', { choices: ['text', 'json'] }), alias: 'o' });
}
