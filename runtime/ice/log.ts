/** The few logging calls the auth service makes; the runtime's scoped logger satisfies it. */
export interface IceLogger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

export const silentLogger: IceLogger = { error() {}, warn() {}, info() {}, debug() {} };
