// The status the UI shows, from a site's sync tables: off, then waiting with changes queued, then
// with a refusal, an error and a conflict to review.
import { describe, expect, it } from 'vitest';
import { ensureSite } from '../host/first-run.ts';
import { systemActor } from '../service/actor.ts';
import { GatehouseService } from '../service/service.ts';
import { openDatabase } from '../store/db.ts';
import { applyCloudRecord } from './apply.ts';
import { setCloudSyncEnabled } from './outbox.ts';
import { cloudSyncStatus } from './status.ts';

const actor = systemActor('admin');

describe('cloudSyncStatus', () => {
  it('says what is waiting, what failed and what needs review', () => {
    const db = openDatabase(':memory:');
    ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
    let clock = Date.parse('2026-05-01T10:00:00.000Z');
    const service = new GatehouseService(db, { now: () => (clock += 1000) });
    expect(cloudSyncStatus(db.read)).toMatchObject({ enabled: false, connected: false, pending_changes: 0, open_conflicts: 0, last_error: null });

    const ada = service.run(actor, 'users.create', { first_name: 'Ada', email: 'ada@example.com' });
    setCloudSyncEnabled(db, true, clock);
    const enabledAt = new Date(clock).toISOString();
    service.run(actor, 'users.create', { first_name: 'Bob' });
    expect(cloudSyncStatus(db.read)).toMatchObject({ enabled: true, connected: false, pending_changes: 2, oldest_pending_at: enabledAt, failed_changes: 0 });

    db.transaction((w) => {
      w.prepare(`UPDATE cloud_sync_state SET cloud_site_id = 'site-1', last_error = 'KS Connect answered 503', last_error_at = '2026-05-01T10:05:00.000Z'`).run();
      w.prepare(`UPDATE cloud_outbox SET state = 'failed', last_error = '1101 invalid value', finished_at = '2026-05-01T10:05:00.000Z' WHERE seq = 2`).run();
    });
    service.run(actor, 'users.update', { id: ada.id, first_name: 'Augusta' });
    applyCloudRecord(service, { kind: 'user', cloud_id: 'cu-1', cloud_user_id: 'pu-1', fields: { first_name: 'Ida', email: 'ada@example.com' }, updated_at: '2026-05-01T09:00:00.000Z' });
    expect(cloudSyncStatus(db.read)).toMatchObject({
      connected: true,
      cloud_site_id: 'site-1',
      pending_changes: 2,
      failed_changes: 1,
      last_error: { message: 'KS Connect answered 503', at: '2026-05-01T10:05:00.000Z' },
      open_conflicts: 1,
    });
    db.close();
  });
});
