/**
 * `stunner-gitops/demos`: each demo composes StunnerGateway and MediaRoute (and IceAuthService)
 * with our demo servers.
 *
 * @module stunner-gitops/demos
 */

export {
  CLOUDRETRO_PORTS,
  CloudRetroDemo,
  type CloudRetroDemoProps,
  CloudRetroNames,
  DEFAULT_CLOUDRETRO_IMAGE,
} from './cloudretro-demo.js';
export type { DemoProps, DemoServiceProps } from './demo-props.js';
export { DirectOne2OneCall, type DirectOne2OneCallProps } from './direct-one2one-call.js';
export { DEFAULT_JANUS_IMAGE, JanusDemo, type JanusDemoProps } from './janus-demo.js';
export {
  DEFAULT_MEDIASOUP_IMAGE,
  LETSENCRYPT_PRODUCTION,
  MediasoupDemo,
  type MediasoupDemoProps,
  type MediasoupTlsProps,
} from './mediasoup-demo.js';
export { SimpleTunnel, type SimpleTunnelProps } from './simple-tunnel.js';
