/**
 * The exit codes of every command line the package ships (stunnerd, stunnerd auth, stunnerd
 * icetest, stunnerctl, turncat): one table, documented in docs/cli.md. The smoke-test Job and
 * scripts read them, so they cross the YAML like the rest of contract/.
 */
export const ExitCode = {
  /** Done: the check passed, the operation finished, or --help, --version, completion. */
  OK: 0,
  /**
   * The operation or check failed: a source that cannot be read or holds no gateway, an invalid
   * config, a server that is unreachable or answers 401/403, a pod that is not READY, packet loss.
   */
  FAILED: 1,
  /**
   * The command line is wrong or incomplete: an unknown command or flag, a malformed or missing
   * value, flags that exclude each other, or a name (gateway, listener) the source does not have.
   */
  USAGE: 2,
  /** `stunnerctl import`: the chart was written, but some objects could not be mapped (listed). */
  PARTIAL: 3,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
