export * from '../defaults.js';
export * from './address-class.js';
export { didYouMean } from './did-you-mean.js';
export * from './endpoint.js';
export * from './load.js';
export * from './types.js';
export * from './validate.js';
