/** Long-term credentials (static and TURN REST API) and stateless nonces. */
export * from './authenticator.js';
export * from './failure-limit.js';
export * from './nonce.js';
