/** The STUN/TURN codec: parse, build, integrity, ChannelData and stream framing. */
export * from './attributes.js';
export * from './builder.js';
export * from './channel-data.js';
export * from './constants.js';
export * from './crc32.js';
export * from './framing.js';
export * from './integrity.js';
export * from './ip.js';
export * from './message.js';
