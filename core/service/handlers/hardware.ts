import { randomUUID } from 'node:crypto';
import { GatehouseError, invalid } from '../../contract/errors.ts';
import { DEVICE_STATE_IQ, deviceStateLock } from '../../domain/device-state.ts';
import type { Iq, Lock } from '../../domain/model.ts';
import { listRows } from '../../store/list.ts';
import { deleteIq, getIq, insertIq, iqList, updateIq } from '../../store/repos/iqs.ts';
import {
  addOfflineKey,
  deleteLock,
  getLock,
  insertLock,
  lockList,
  offlineKeyTags,
  removeOfflineKey,
  setEomSchedule,
  updateLock,
} from '../../store/repos/locks.ts';
import { getSite } from '../../store/repos/site.ts';
import { getTag } from '../../store/repos/tags.ts';
import { requireConfirmation } from '../confirm.ts';
import type { CommandContext, HandlerGroup } from '../context.ts';
import { later } from '../later.ts';
import { must, newId, patched, saveIfChanged } from './common.ts';

type Names =
  | 'iqs.list'
  | 'iqs.get'
  | 'iqs.create'
  | 'iqs.update'
  | 'iqs.delete'
  | 'locks.list'
  | 'locks.get'
  | 'locks.create'
  | 'locks.update'
  | 'locks.delete'
  | 'locks.set_locking'
  | 'locks.set_eom_schedule'
  | 'locks.offline_keys.list'
  | 'locks.offline_keys.update';

function checkIq(ctx: CommandContext, iqId: string | null | undefined): void {
  if (iqId && !getIq(ctx.db, iqId)) throw invalid(`iq_id: IQ '${iqId}' does not exist`, [{ path: 'iq_id', message: 'no such IQ' }]);
}

export const hardwareHandlers: HandlerGroup<Names> = {
  'iqs.list': (ctx, input) => listRows(ctx.db, iqList, input),
  'iqs.get': (ctx, { id }) => must(getIq(ctx.db, id), 'IQ', id),
  'iqs.create'(ctx, input) {
    const iq: Iq = {
      id: newId(),
      mac: input.mac,
      customer_reference: input.customer_reference,
      time_zone: input.time_zone ?? getSite(ctx.db)!.time_zone,
      ...DEVICE_STATE_IQ,
      subscribed: input.subscribed,
      reset_date: null,
      firmware: input.firmware,
      serial: input.serial,
      created_at: ctx.nowIso,
      updated_at: ctx.nowIso,
    };
    insertIq(ctx.db, iq);
    ctx.log({ target_type: 'iq', target_id: iq.id, after: iq });
    return iq;
  },
  'iqs.update'(ctx, { id, ...patch }) {
    const before = must(getIq(ctx.db, id), 'IQ', id);
    return saveIfChanged(ctx, { kind: 'iq', id }, before, patched(before, patch), (r) => updateIq(ctx.db, r));
  },
  'iqs.delete'(ctx, { id }) {
    const before = must(getIq(ctx.db, id), 'IQ', id);
    deleteIq(ctx.db, id);
    ctx.log({ target_type: 'iq', target_id: id, before });
    return { id };
  },

  'locks.list': (ctx, input) => listRows(ctx.db, lockList, input),
  'locks.get': (ctx, { id }) => must(getLock(ctx.db, id), 'Lock', id),
  'locks.create'(ctx, input) {
    checkIq(ctx, input.iq_id);
    const lock: Lock = {
      id: newId(),
      ...input,
      ...deviceStateLock(input.iq_id),
      offline_access_keys_count: 0,
      easy_office_mode_schedule: null,
      created_at: ctx.nowIso,
      updated_at: ctx.nowIso,
    };
    insertLock(ctx.db, lock);
    ctx.log({ target_type: 'lock', target_id: lock.id, after: lock });
    return lock;
  },
  'locks.update'(ctx, { id, ...patch }) {
    const before = must(getLock(ctx.db, id), 'Lock', id);
    checkIq(ctx, patch.iq_id);
    if (patch.offline_access_keys_limit !== undefined && patch.offline_access_keys_limit < before.offline_access_keys_count) {
      throw new GatehouseError('conflict', `The lock holds ${before.offline_access_keys_count} offline-access keys; remove some before lowering the limit to ${patch.offline_access_keys_limit}`, [
        { path: 'offline_access_keys_limit', message: 'below the number of keys in use' },
      ]);
    }
    const after = patched(before, patch);
    if (patch.iq_id !== undefined && patch.iq_id !== before.iq_id) {
      after.iq_link_state = patch.iq_id ? 'attached_pending' : 'detached';
      after.online = false;
    }
    return saveIfChanged(ctx, { kind: 'lock', id }, before, after, (r) => updateLock(ctx.db, r));
  },
  'locks.delete'(ctx, { id }) {
    const before = must(getLock(ctx.db, id), 'Lock', id);
    deleteLock(ctx.db, id);
    ctx.log({ target_type: 'lock', target_id: id, before });
    return { id };
  },
  'locks.set_locking'(ctx, { id, locked_state, otp }) {
    const before = must(getLock(ctx.db, id), 'Lock', id);
    // Locking (which also ends office mode) only makes a door safer: it never waits for a confirmation.
    if (locked_state !== 'locked') requireConfirmation(ctx, otp, locked_state === 'unlocked' ? 'Opening a door remotely' : 'Starting office mode');
    const devices = ctx.service.devices;
    if (devices) {
      // The door is driven from here: the hub carries it out, and its event becomes the entry.
      if (!before.iq_id) throw new GatehouseError('conflict', `${before.customer_reference} is not attached to an IQ, so nothing can reach it`, [{ path: 'id', message: 'no IQ' }]);
      devices.requireConnected(before.iq_id);
      ctx.log({ target_type: 'lock', target_id: id, before: { locked_state: before.locked_state, office_mode: before.office_mode }, after: { requested: locked_state }, touches: [] });
      const { iq_id } = before;
      const operator = (ctx.actor?.name ?? 'gatehouse').slice(0, 64);
      const what = locked_state === 'unlocked' ? `Opening ${before.customer_reference}` : locked_state === 'office_mode' ? `Office mode at ${before.customer_reference}` : `Locking ${before.customer_reference}`;
      const read = ctx.service.db.read;
      return later(async () => {
        await devices.lockCommand(iq_id, id, what, (c, confirmation) =>
          locked_state === 'unlocked' ? c.remoteOpen(id, operator, confirmation) : c.setManualOfficeMode(id, locked_state === 'office_mode', operator, confirmation),
        );
        return getLock(read, id)!;
      });
    }
    const after = { ...before, updated_at: ctx.nowIso };
    const entry = (event_category: string, event_detail: string | null, access_by: string | null) =>
      ctx.service.audit.ingest(ctx, 'gatehouse', [{ event_id: randomUUID(), time: ctx.nowIso, event_category, event_detail, access_by, lock_id: id, actor_name: ctx.actor?.name ?? null }], []);
    if (locked_state === 'unlocked') {
      // A remote opening: the lock opens and re-locks by itself.
      entry('lock_opened', null, 'remote');
    } else if (locked_state === 'office_mode') {
      after.office_mode = 'manual_office_mode';
      after.locked_state = 'office_mode';
      entry('manual_office_mode', 'start', 'remote');
    } else {
      if (before.office_mode !== 'none') entry(before.office_mode, 'end', 'remote');
      after.office_mode = 'none';
      after.locked_state = 'locked';
    }
    updateLock(ctx.db, after);
    ctx.log({ target_type: 'lock', target_id: id, before: { locked_state: before.locked_state, office_mode: before.office_mode }, after: { requested: locked_state, locked_state: after.locked_state, office_mode: after.office_mode }, touches: [] });
    ctx.emit('lock.state', { lock_id: id, locked_state: after.locked_state, online: after.online });
    return after;
  },
  'locks.set_eom_schedule'(ctx, { id, schedule }) {
    const before = must(getLock(ctx.db, id), 'Lock', id);
    setEomSchedule(ctx.db, id, schedule, ctx.nowIso);
    const after = getLock(ctx.db, id)!;
    ctx.log({ target_type: 'lock', target_id: id, before: before.easy_office_mode_schedule, after: after.easy_office_mode_schedule });
    return after;
  },
  'locks.offline_keys.list': (ctx, { id }) => {
    must(getLock(ctx.db, id), 'Lock', id);
    return offlineKeyTags(ctx.db, id);
  },
  'locks.offline_keys.update'(ctx, { id, add_ids, remove_ids }) {
    const lock = must(getLock(ctx.db, id), 'Lock', id);
    const removed = remove_ids.filter((t) => removeOfflineKey(ctx.db, id, t));
    const missing = add_ids.filter((t) => !getTag(ctx.db, t));
    if (missing.length) throw invalid(`add_ids: tag '${missing[0]}' does not exist`, missing.map((t) => ({ path: 'add_ids', message: `no tag '${t}'` })));
    const current = lock.offline_access_keys_count - removed.length;
    const held = new Set(offlineKeyTags(ctx.db, id).map((k) => k.id));
    // Only keys not yet held are inserted: the slot-limit trigger fires even for an insert that would be ignored.
    const fresh = [...new Set(add_ids)].filter((t) => !held.has(t));
    if (current + fresh.length > lock.offline_access_keys_limit) {
      throw new GatehouseError(
        'conflict',
        `${lock.customer_reference} has ${lock.offline_access_keys_limit} offline-access slots and ${current} are in use; ${fresh.length} more do not fit`,
        [{ path: 'add_ids', message: 'offline_access_keys_limit reached' }],
      );
    }
    const added = fresh.filter((t) => addOfflineKey(ctx.db, id, t, ctx.nowIso));
    ctx.log({ target_type: 'lock', target_id: id, before: { removed_tag_ids: removed }, after: { added_tag_ids: added } });
    return getLock(ctx.db, id)!;
  },
};
