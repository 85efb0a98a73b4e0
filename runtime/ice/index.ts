/** The ICE auth service and its client: what application servers and the watcher import. */
export {
  getIceConfig,
  getTurnCredentials,
  type IceClientOptions,
  IceConfigError,
} from './client.js';
export { ConfigFiles, type ConfigFilesOptions } from './config-files.js';
export type { IceConfiguration, IceServer, TurnCredentials } from './ice-config.js';
export { type PublicAddress, PublicAddressBook } from './public-address.js';
export { DEFAULT_TTL, ICE_TRANSPORT_POLICIES, type IceTransportPolicy } from './query.js';
export { IceAuthServer, type IceAuthServerOptions } from './server.js';
export { formatTurnUri, type TurnUri, turnUri } from './uri.js';
