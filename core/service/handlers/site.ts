import { stmt } from '../../store/db.ts';
import { getSite, updateSite } from '../../store/repos/site.ts';
import type { HandlerGroup } from '../context.ts';
import { must, patched, saveIfChanged } from './common.ts';

export const siteHandlers: HandlerGroup<'site.get' | 'site.update'> = {
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
