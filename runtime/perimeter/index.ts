export * from './ip.js';
export * from './perimeter.js';
