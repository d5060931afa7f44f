export type * from './ports.js';
export {
  createSearchService,
  MAX_SEARCH_LIMIT,
  type RoomEventsCriteria,
  type RoomEventsResults,
  type SearchDeps,
  type SearchKey,
  type SearchResult,
  type SearchService,
} from './service.js';
export { formatBatchToken, parseBatchToken, type BatchToken, type GroupKey, type SearchOrder } from './batch-token.js';
export type { ContextRequest, Profile, ResultContext } from './context.js';
export { groupResults, type GroupValue, type Grouped } from './groups.js';
