export * from './perimeter.js';
