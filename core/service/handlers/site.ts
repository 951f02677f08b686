import { stmt } from '../../store/db.ts';
import { getSetting, getSite, setSetting, updateSite } from '../../store/repos/site.ts';
import type { ReadDb } from '../../store/db.ts';
import type { Preferences } from '../../contract/results.ts';
import type { HandlerGroup } from '../context.ts';
import { must, patched, saveIfChanged } from './common.ts';

const DEFAULT_PREFERENCES: Preferences = { auto_sign_out_minutes: 10 };

function preferences(db: ReadDb): Preferences {
  return { ...DEFAULT_PREFERENCES, ...(getSetting<Partial<Preferences>>(db, 'ui.preferences') ?? {}) };
}

export const siteHandlers: HandlerGroup<'site.get' | 'site.update' | 'preferences.get' | 'preferences.update'> = {
  'preferences.get': (ctx) => preferences(ctx.db),
  'preferences.update'(ctx, patch) {
    const before = preferences(ctx.db);
    const after = { ...before, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
    if (JSON.stringify(before) !== JSON.stringify(after)) {
      setSetting(ctx.db, 'ui.preferences', after);
      ctx.log({ target_type: 'site', target_id: null, before, after, touches: [] });
    }
    return after;
  },
  'site.get'(ctx) {
    const site = must(getSite(ctx.db), 'Site', 'this installation');
    const count = (table: string) => (stmt(ctx.db, `SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return {
      ...site,
      counts: { iqs: count('iqs'), locks: count('locks'), users: count('users'), tags: count('tags'), access_groups: count('access_groups') },
    };
  },
  'site.update'(ctx, input) {
    const before = must(getSite(ctx.db), 'Site', 'this installation');
    return saveIfChanged(ctx, { kind: 'site', id: before.id }, before, patched(before, input), (r) => updateSite(ctx.db, r, r.updated_at));
  },
};
