import { DATA_SYNC_STATES } from '../../domain/enums.ts';
import { normalizeMac } from '../../domain/mac.ts';
import type { Iq } from '../../domain/model.ts';
import type { FieldMap } from '../../query/filter-sql.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';
import type { ListSpec } from '../list.ts';
import { bit, withBooleans, type SqlRow } from './rows.ts';

const BOOLS = ['online', 'subscribed'] as const;
const toIq = (row: SqlRow): Iq => withBooleans<Iq>(row, BOOLS);

export const IQ_FIELDS: FieldMap = {
  id: { column: 'i.id', type: 'string' },
  mac: { column: 'i.mac', type: 'string' },
  customer_reference: { column: 'i.customer_reference', type: 'string' },
  time_zone: { column: 'i.time_zone', type: 'string' },
  online: { column: 'i.online', type: 'boolean' },
  data_sync_state: { column: 'i.data_sync_state', type: 'enum', values: DATA_SYNC_STATES },
  signal_strength: { column: 'i.signal_strength', type: 'number' },
  subscribed: { column: 'i.subscribed', type: 'boolean' },
  firmware: { column: 'i.firmware', type: 'string' },
  serial: { column: 'i.serial', type: 'string' },
  revision: { column: 'i.revision', type: 'number' },
  created_at: { column: 'i.created_at', type: 'datetime' },
};

export const iqList: ListSpec<SqlRow, Iq> = {
  from: 'iqs i',
  select: 'i.*',
  fields: IQ_FIELDS,
  searchColumns: ['i.customer_reference', 'i.mac', 'i.serial'],
  defaultOrder: [{ field: 'customer_reference', direction: 'asc' }],
  tieBreaker: 'i.pk',
  map: toIq,
};

export function getIq(db: ReadDb, id: string): Iq | null {
  const row = stmt(db, 'SELECT * FROM iqs WHERE id = ?').get(id) as SqlRow | undefined;
  return row ? toIq(row) : null;
}

/** The IQ record a hub belongs to, by the MAC address it reports (normalised as the contract stores it). */
export function findIqByMac(db: ReadDb, mac: string): Iq | null {
  const row = stmt(db, 'SELECT * FROM iqs WHERE mac = ?').get(normalizeMac(mac)) as SqlRow | undefined;
  return row ? toIq(row) : null;
}

export function insertIq(db: WriteDb, iq: Iq): void {
  stmt(
    db,
    `INSERT INTO iqs (id, mac, customer_reference, time_zone, online, data_sync_state, signal_strength, subscribed, reset_date, firmware, serial, revision, created_at, updated_at)
     VALUES (@id, @mac, @customer_reference, @time_zone, @online, @data_sync_state, @signal_strength, @subscribed, @reset_date, @firmware, @serial, @revision, @created_at, @updated_at)`,
  ).run({ ...iq, online: bit(iq.online), subscribed: bit(iq.subscribed) });
}

export function updateIq(db: WriteDb, iq: Iq): void {
  stmt(
    db,
    `UPDATE iqs SET mac = @mac, customer_reference = @customer_reference, time_zone = @time_zone, online = @online,
       data_sync_state = @data_sync_state, signal_strength = @signal_strength, subscribed = @subscribed, reset_date = @reset_date,
       firmware = @firmware, serial = @serial, revision = @revision, updated_at = @updated_at WHERE id = @id`,
  ).run({ ...iq, online: bit(iq.online), subscribed: bit(iq.subscribed) });
}

export function deleteIq(db: WriteDb, id: string): void {
  stmt(db, "UPDATE locks SET iq_link_state = 'detached' WHERE iq_id = ?").run(id);
  stmt(db, 'DELETE FROM iqs WHERE id = ?').run(id);
}
