// SQLite's refusals turned into contract errors. The service checks most things first with friendlier
// words; these catch what slips through (races, constraints enforced only by the schema).
import { GatehouseError } from '../contract/errors.ts';

export function fromSqliteError(e: unknown): GatehouseError | null {
  const err = e as { code?: string; message?: string };
  if (typeof err?.code !== 'string' || !err.code.startsWith('SQLITE_')) return null;
  const msg = err.message ?? '';
  switch (err.code) {
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY': {
      const cols = msg.replace(/^UNIQUE constraint failed: /, '').split(', ').map((c) => c.split('.').pop());
      return new GatehouseError('conflict', `Another record already has this ${cols.join(' and ')}`, cols.map((c) => ({ path: c ?? '', message: 'already in use' })));
    }
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return new GatehouseError('validation', 'The request refers to a record that does not exist');
    case 'SQLITE_CONSTRAINT_CHECK':
    case 'SQLITE_CONSTRAINT_NOTNULL':
      return new GatehouseError('validation', `A value is out of range (${msg})`);
    case 'SQLITE_CONSTRAINT_TRIGGER':
      return new GatehouseError('conflict', msg);
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new GatehouseError('unavailable', 'The database is busy; try again');
    case 'SQLITE_FULL':
      return new GatehouseError('unavailable', 'The disk is full; nothing was saved');
    default:
      return null;
  }
}
