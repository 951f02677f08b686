// Incidents (alarms): listing with cursors and acknowledging. An acknowledgement is a change by an
// operator, so it goes to the operator log; the incident's own hash does not cover it.
import { stmt, type ReadDb, type WriteDb } from '../store/db.ts';
import { decodeCursor, encodeCursor, localIso } from './query.ts';

export interface IncidentFilter {
  incident_type?: string;
  lock_id?: string;
  iq_id?: string;
  acknowledged?: boolean;
  from?: number;
  until?: number;
}

export interface IncidentRow {
  id: string;
  incident_type: string;
  utc_date_time: string;
  local_date_time: string;
  device_date_time: string | null;
  received_date_time: string;
  lock_id: string | null;
  lock_customer_reference: string | null;
  iq_id: string | null;
  iq_customer_reference: string | null;
  source: string;
  source_event_id: string;
  acknowledged: boolean;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  ack_comment: string | null;
}

const SELECT = `i.*, lr.id AS lock_id, ir.id AS iq_id, sr.id AS source FROM incidents i
  LEFT JOIN audit_refs lr ON lr.ref = i.lock_ref LEFT JOIN audit_refs ir ON ir.ref = i.iq_ref LEFT JOIN audit_refs sr ON sr.ref = i.source_ref`;

type Raw = Record<string, unknown> & { seq: number; utc_ms: number; utc_offset_min: number };

function toRow(r: Raw): IncidentRow {
  return {
    id: String(r.seq),
    incident_type: r.incident_type as string,
    utc_date_time: new Date(r.utc_ms).toISOString(),
    local_date_time: localIso(r.utc_ms, r.utc_offset_min),
    device_date_time: r.device_ms === null ? null : new Date(r.device_ms as number).toISOString(),
    received_date_time: new Date(r.received_ms as number).toISOString(),
    lock_id: r.lock_id as string | null,
    lock_customer_reference: r.lock_name as string | null,
    iq_id: r.iq_id as string | null,
    iq_customer_reference: r.iq_name as string | null,
    source: r.source as string,
    source_event_id: r.source_event_id as string,
    acknowledged: r.acknowledged_at !== null,
    acknowledged_at: r.acknowledged_at as string | null,
    acknowledged_by: r.acknowledged_by as string | null,
    ack_comment: r.ack_comment as string | null,
  };
}

export function listIncidents(db: ReadDb, f: IncidentFilter, page: { cursor?: string; direction: 'older' | 'newer'; limit: number; with_count: boolean }) {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.incident_type !== undefined) {
    where.push('i.incident_type = ?');
    params.push(f.incident_type);
  }
  for (const [k, col] of [
    ['lock_id', 'lr.id'],
    ['iq_id', 'ir.id'],
  ] as const) {
    if (f[k] === undefined) continue;
    where.push(`${col} = ?`);
    params.push(f[k]);
  }
  if (f.acknowledged !== undefined) where.push(f.acknowledged ? 'i.acknowledged_at IS NOT NULL' : 'i.acknowledged_at IS NULL');
  if (f.from !== undefined) {
    where.push('i.utc_ms >= ?');
    params.push(f.from);
  }
  if (f.until !== undefined) {
    where.push('i.utc_ms < ?');
    params.push(f.until);
  }
  const base = [...where];
  const baseParams = [...params];
  const newer = page.direction === 'newer';
  if (page.cursor) {
    const c = decodeCursor(page.cursor);
    where.push(newer ? '(i.utc_ms, i.seq) > (?, ?)' : '(i.utc_ms, i.seq) < (?, ?)');
    params.push(c.utc_ms, c.seq);
  }
  const sqlWhere = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const rows = stmt(db, `SELECT ${SELECT} ${sqlWhere} ORDER BY ${newer ? 'i.utc_ms ASC, i.seq ASC' : 'i.utc_ms DESC, i.seq DESC'} LIMIT ?`).all(...params, page.limit + 1) as Raw[];
  const more = rows.length > page.limit;
  if (more) rows.pop();
  if (newer) rows.reverse();
  const first = rows[0];
  const last = rows[rows.length - 1];
  const countWhere = base.length ? `WHERE ${base.join(' AND ')}` : '';
  return {
    items: rows.map(toRow),
    older_cursor: last && (newer || more) ? encodeCursor({ utc_ms: last.utc_ms, seq: last.seq }) : null,
    newer_cursor: first ? encodeCursor({ utc_ms: first.utc_ms, seq: first.seq }) : (page.cursor ?? null),
    count: page.with_count
      ? (stmt(db, `SELECT count(*) AS n FROM incidents i LEFT JOIN audit_refs lr ON lr.ref = i.lock_ref LEFT JOIN audit_refs ir ON ir.ref = i.iq_ref ${countWhere}`).get(...baseParams) as { n: number }).n
      : null,
  };
}

export function getIncident(db: ReadDb, seq: number): IncidentRow | null {
  const row = stmt(db, `SELECT ${SELECT} WHERE i.seq = ?`).get(seq) as Raw | undefined;
  return row ? toRow(row) : null;
}

export function acknowledgeIncident(db: WriteDb, seq: number, by: string, at: string, comment: string | null): boolean {
  return stmt(db, 'UPDATE incidents SET acknowledged_at = ?, acknowledged_by = ?, ack_comment = ? WHERE seq = ? AND acknowledged_at IS NULL').run(at, by, comment, seq).changes > 0;
}
