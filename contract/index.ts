/**
 * The contract between the runtime and the constructs: the dataplane config (schema, validator,
 * loader), the defaults both sides share, the pod layout, and what the runtime supports. It uses
 * no Node networking and no cdk8s; both sides import it, never each other.
 */
export * from './config/index.js';
export * from './ip-literal.js';
export * from './pod-layout.js';
export * from './support.js';
