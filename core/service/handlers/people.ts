import { GatehouseError, invalid, notFound } from '../../contract/errors.ts';
import type { UserDetail } from '../../contract/results.ts';
import type { Tag, User } from '../../domain/model.ts';
import type { ReadDb } from '../../store/db.ts';
import { listRows } from '../../store/list.ts';
import { addGroupUser, getAccessGroup } from '../../store/repos/access-groups.ts';
import { getIq } from '../../store/repos/iqs.ts';
import { isTagNumberReserved } from '../../store/repos/card-encodings.ts';
import { deleteTag, getTag, insertTag, nextTagNumber, tagList, tagsOfUser, updateTag } from '../../store/repos/tags.ts';
import { deleteUser, getUser, groupsOfUser, insertUser, updateUser, userList } from '../../store/repos/users.ts';
import type { CommandContext, HandlerGroup } from '../context.ts';
import { must, newId, patched, saveIfChanged } from './common.ts';
import { importUsersCsv } from './import-users.ts';

type Names =
  | 'users.list'
  | 'users.get'
  | 'users.create'
  | 'users.update'
  | 'users.delete'
  | 'users.bulk_update'
  | 'users.import_csv'
  | 'tags.list'
  | 'tags.get'
  | 'tags.create'
  | 'tags.update'
  | 'tags.report_lost'
  | 'tags.delete';

export function userDetail(db: ReadDb, id: string): UserDetail {
  const user = must(getUser(db, id), 'User', id);
  return { ...user, tags: tagsOfUser(db, id), access_groups: groupsOfUser(db, id) };
}

function checkRefs(ctx: CommandContext, refs: { user_id?: string | null; source_iq_id?: string | null }): void {
  if (refs.user_id && !getUser(ctx.db, refs.user_id)) throw invalid(`user_id: user '${refs.user_id}' does not exist`, [{ path: 'user_id', message: 'no such user' }]);
  if (refs.source_iq_id && !getIq(ctx.db, refs.source_iq_id))
    throw invalid(`source_iq_id: IQ '${refs.source_iq_id}' does not exist`, [{ path: 'source_iq_id', message: 'no such IQ' }]);
}

export function createUser(ctx: CommandContext, input: Omit<User, 'id' | 'user_id' | 'created_at' | 'updated_at'> & { access_group_ids: string[] }): User {
  const { access_group_ids, ...fields } = input;
  const user: User = { id: newId(), user_id: newId(), ...fields, created_at: ctx.nowIso, updated_at: ctx.nowIso };
  insertUser(ctx.db, user);
  for (const gid of access_group_ids) {
    if (!getAccessGroup(ctx.db, gid)) throw invalid(`access_group_ids: access group '${gid}' does not exist`, [{ path: 'access_group_ids', message: `no group '${gid}'` }]);
    addGroupUser(ctx.db, gid, user.id);
  }
  ctx.log({ target_type: 'user', target_id: user.id, after: { ...user, access_group_ids } });
  return user;
}

export function createTag(ctx: CommandContext, input: Partial<Pick<Tag, 'tag_number' | 'issue_counter'>> & Pick<Tag, 'card_uid' | 'kind' | 'source_iq_id' | 'user_id' | 'blocked'>): Tag {
  checkRefs(ctx, input);
  if (input.tag_number !== undefined && isTagNumberReserved(ctx.db, input.tag_number)) {
    throw new GatehouseError('conflict', `Tag number ${input.tag_number} may be on a card whose encoding did not finish; lay that card on the encoder to finish it, or choose another number`, [
      { path: 'tag_number', message: 'reserved by an unfinished card encoding' },
    ]);
  }
  const tag: Tag = {
    id: newId(),
    tag_number: input.tag_number ?? nextTagNumber(ctx.db),
    card_uid: input.card_uid,
    kind: input.kind,
    source_iq_id: input.source_iq_id,
    added_date: ctx.nowIso,
    user_id: input.user_id,
    blocked: input.blocked,
    lost_or_stolen: false,
    lost_or_stolen_date: null,
    issue_counter: input.issue_counter ?? 0,
    created_at: ctx.nowIso,
    updated_at: ctx.nowIso,
  };
  insertTag(ctx.db, tag);
  ctx.log({ target_type: 'tag', target_id: tag.id, after: tag });
  return tag;
}

export const peopleHandlers: HandlerGroup<Names> = {
  'users.list': (ctx, input) => listRows(ctx.db, userList, input),
  'users.get': (ctx, { id }) => userDetail(ctx.db, id),
  'users.create'(ctx, input) {
    return userDetail(ctx.db, createUser(ctx, input).id);
  },
  'users.update'(ctx, { id, ...patch }) {
    const before = must(getUser(ctx.db, id), 'User', id);
    const after = patched(before, patch);
    if (after.valid_from && after.valid_until && after.valid_until <= after.valid_from) {
      throw invalid('valid_until must be after valid_from', [{ path: 'valid_until', message: 'before valid_from' }]);
    }
    saveIfChanged(ctx, { kind: 'user', id }, before, after, (r) => updateUser(ctx.db, r));
    return userDetail(ctx.db, id);
  },
  'users.delete'(ctx, { id }) {
    const before = userDetail(ctx.db, id);
    deleteUser(ctx.db, id);
    ctx.log({
      target_type: 'user',
      target_id: id,
      before,
      touches: [{ kind: 'user', id }, ...before.tags.map((t) => ({ kind: 'tag' as const, id: t.id }))],
    });
    return { id };
  },
  'users.bulk_update'(ctx, { ids, patch }) {
    const unique = [...new Set(ids)];
    const users = unique.map((id) => getUser(ctx.db, id));
    const missing = unique.filter((_, i) => !users[i]);
    if (missing.length) throw notFound('User', missing.join("', '"));
    for (const before of users as User[]) {
      const after = patched(before, patch);
      if (after.valid_from && after.valid_until && after.valid_until <= after.valid_from) {
        throw invalid(`patch.valid_until: ${before.first_name} ${before.last_name} is valid only from ${after.valid_from}; valid_until must be later`, [
          { path: 'patch.valid_until', message: `before valid_from of user '${before.id}'` },
        ]);
      }
      saveIfChanged(ctx, { kind: 'user', id: before.id }, before, after, (r) => updateUser(ctx.db, r));
    }
    return { updated: unique.length };
  },
  'users.import_csv': (ctx, input) => importUsersCsv(ctx, input.csv, input.dry_run),

  'tags.list': (ctx, input) => listRows(ctx.db, tagList, input),
  'tags.get': (ctx, { id }) => must(getTag(ctx.db, id), 'Tag', id),
  'tags.create'(ctx, input) {
    return getTag(ctx.db, createTag(ctx, input).id)!;
  },
  'tags.update'(ctx, { id, ...patch }) {
    const detail = must(getTag(ctx.db, id), 'Tag', id);
    const { owner: _o, ...before } = detail;
    checkRefs(ctx, patch);
    saveIfChanged(ctx, { kind: 'tag', id }, before, patched(before, patch), (r) => updateTag(ctx.db, r));
    return getTag(ctx.db, id)!;
  },
  'tags.report_lost'(ctx, { id, lost_or_stolen }) {
    const { owner: _o, ...before } = must(getTag(ctx.db, id), 'Tag', id);
    const after: Tag = { ...before, lost_or_stolen, lost_or_stolen_date: lost_or_stolen ? ctx.nowIso : null, updated_at: ctx.nowIso };
    updateTag(ctx.db, after);
    ctx.log({ target_type: 'tag', target_id: id, before: { lost_or_stolen: before.lost_or_stolen }, after: { lost_or_stolen } });
    return getTag(ctx.db, id)!;
  },
  'tags.delete'(ctx, { id }) {
    const before = must(getTag(ctx.db, id), 'Tag', id);
    deleteTag(ctx.db, id);
    ctx.log({ target_type: 'tag', target_id: id, before });
    return { id };
  },
};
