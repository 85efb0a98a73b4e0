/**
 * The contract between the runtime and the constructs, and the package's `/config` export: the
 * dataplane config (types, validator, loader), the defaults both sides share, the pod layout,
 * the labels, env names, Secret keys and syntax checks both sides use, and what the runtime
 * supports. It uses no Node networking and no cdk8s; both sides import it, never each other. The
 * zod schemas stay internal: the published types need no zod.
 *
 * @module stunner-gitops/config
 */
export * from './admin-endpoint.js';
export * from './checks.js';
export * from './config/endpoint.js';
export * from './config/load.js';
export * from './config/types.js';
export * from './config/validate.js';
export * from './defaults.js';
export * from './ice-api.js';
export * from './images.js';
export * from './ip-literal.js';
export * from './labels.js';
export * from './pod-env.js';
export * from './pod-layout.js';
export * from './secret-keys.js';
export * from './support.js';
