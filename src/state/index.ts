export { authChain, authDifference, conflictedSubgraph, missingEvents } from './auth-chain.js';
export type { EventLookup } from './auth-chain.js';
export type { ResolutionInput } from './context.js';
export { resolveState } from './resolve.js';
