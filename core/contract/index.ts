// The contract: the only part of core the renderer may import.
export * from './contract.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './permissions.ts';
export type * from './results.ts';
export type { Filter, OrderBy } from '../query/filter.ts';
export * from '../domain/enums.ts';
export type * from '../domain/model.ts';
