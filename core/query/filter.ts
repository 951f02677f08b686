// A filter over the fields of one resource, independent of how it was written. The REST layer
// parses OData $filter text into this tree; the renderer builds it directly; core validates it
// against the resource's field list and turns it into SQL.
export type FilterValue = string | number | boolean | null;

export type ComparisonOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type StringFunction = 'contains' | 'startswith' | 'endswith';

export type Filter =
  | { op: 'and' | 'or'; args: Filter[] }
  | { op: 'not'; arg: Filter }
  | { op: ComparisonOp; field: string; value: FilterValue }
  | { op: StringFunction; field: string; value: string };

export interface OrderBy {
  field: string;
  direction: 'asc' | 'desc';
}
