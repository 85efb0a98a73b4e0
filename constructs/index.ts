export * from '../contract/pod-layout.js';
export * from './cluster-scoped.js';
export * from './credentials.js';
export type { GatewayModel, ListenerModel } from './gateway/model.js';
export * from './ice-auth-service.js';
export * from './media-route.js';
export * from './monitoring.js';
export * from './runtime-bundle/runtime-config-map.js';
export * from './stunner-gateway.js';
