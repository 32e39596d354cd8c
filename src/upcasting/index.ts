export * from './upcasters.js';
export * from './with-upcasting.js';
