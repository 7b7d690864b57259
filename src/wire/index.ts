/** The Heartbeat 3 wire protocol, pure (no I/O): see protocol.ts for the stateful endpoint. */
export * from './message.js';
export * from './codec.js';
export * from './compress.js';
export * from './auth.js';
export * from './control.js';
export * from './messages.js';
export * from './history.js';
export * from './protocol.js';
