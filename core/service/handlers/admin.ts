import { randomBytes } from 'node:crypto';
import { GatehouseError, invalid } from '../../contract/errors.ts';
import { PERMISSIONS, can } from '../../contract/permissions.ts';
import {
  countOwners,
  deleteApiClient,
  deleteOperator,
  deleteToken,
  deleteTokensOf,
  findApiClient,
  findOperator,
  getApiClient,
  getOperator,
  insertApiClient,
  insertOperator,
  insertToken,
  listApiClients,
  listOperators,
  publicClient,
  publicOperator,
  touchLogin,
  updateOperator,
  type OperatorRow,
} from '../../store/repos/operators.ts';
import type { Actor } from '../actor.ts';
import type { CommandContext, HandlerGroup } from '../context.ts';
import { must, newId } from './common.ts';
import { DUMMY_HASH, hashSecret, newToken, randomPassword, verifySecret } from '../passwords.ts';

type Names =
  | 'auth.login'
  | 'auth.client_token'
  | 'auth.logout'
  | 'auth.me'
  | 'operators.list'
  | 'operators.create'
  | 'operators.update'
  | 'operators.delete'
  | 'operators.change_password'
  | 'api_clients.list'
  | 'api_clients.create'
  | 'api_clients.delete';

const BAD_LOGIN = 'Wrong username or password';

function throttled(ctx: CommandContext, keys: string[]): void {
  const wait = ctx.service.throttle.retryAfter(keys);
  if (wait > 0) throw new GatehouseError('rate_limited', `Too many failed sign-ins; try again in ${wait} s`, [{ path: 'retry_after', message: String(wait) }]);
}

function permissionsOf(actor: Actor) {
  return PERMISSIONS.filter((p) => can(actor.role, p));
}

/** Only an owner may create, change or remove an owner (admins manage everyone else). */
function guardOwner(ctx: CommandContext, targetRole: string, action: string): void {
  if (targetRole === 'owner' && ctx.actor?.role !== 'owner') throw new GatehouseError('forbidden', `Only an owner may ${action} an owner`);
}

function keepAnOwner(ctx: CommandContext, target: OperatorRow, stillOwner: boolean): void {
  if (target.role === 'owner' && !target.disabled && !stillOwner && countOwners(ctx.db) <= 1) {
    throw new GatehouseError('conflict', `${target.username} is the last owner; make someone else owner first`);
  }
}

export const adminHandlers: HandlerGroup<Names> = {
  'auth.login'(ctx, { username, password, ttl_seconds }) {
    const keys = [`user:${username.toLowerCase()}`, ...(ctx.meta.ip ? [`ip:${ctx.meta.ip}`] : [])];
    throttled(ctx, keys);
    const op = findOperator(ctx.db, username);
    const ok = verifySecret(password, op?.password_hash ?? DUMMY_HASH) && op !== null && !op.disabled;
    if (!ok || !op) {
      ctx.service.throttle.fail(keys);
      throw new GatehouseError('unauthenticated', BAD_LOGIN);
    }
    ctx.service.throttle.succeed(keys);
    const { token, hash } = newToken();
    const expires = ctx.now + (ttl_seconds ? ttl_seconds * 1000 : ctx.service.sessionTtlMs);
    insertToken(ctx.db, { token_hash: hash, subject_kind: 'operator', subject_id: op.id, created_at: ctx.now, expires_at: expires });
    touchLogin(ctx.db, op.id, ctx.nowIso);
    ctx.log({ target_type: 'operator', target_id: op.id, after: { signed_in: op.username, ip: ctx.meta.ip ?? null }, touches: [] });
    const actor: Actor = { kind: 'operator', id: op.id, name: op.username, role: op.role };
    return { token, expires_at: new Date(expires).toISOString(), operator: publicOperator({ ...op, last_login_at: ctx.nowIso }), permissions: permissionsOf(actor) };
  },
  'auth.client_token'(ctx, { client_id, client_secret, ttl_seconds }) {
    const keys = [`client:${client_id}`, ...(ctx.meta.ip ? [`ip:${ctx.meta.ip}`] : [])];
    throttled(ctx, keys);
    const c = findApiClient(ctx.db, client_id);
    const ok = verifySecret(client_secret, c?.secret_hash ?? DUMMY_HASH) && c !== null && !c.disabled;
    if (!ok || !c) {
      ctx.service.throttle.fail(keys);
      throw new GatehouseError('unauthenticated', 'Unknown client or wrong secret');
    }
    ctx.service.throttle.succeed(keys);
    const { token, hash } = newToken();
    const expires = ctx.now + ttl_seconds * 1000;
    insertToken(ctx.db, { token_hash: hash, subject_kind: 'client', subject_id: c.id, created_at: ctx.now, expires_at: expires });
    return { token, expires_at: new Date(expires).toISOString(), client: publicClient(c) };
  },
  'auth.logout'(ctx) {
    const a = ctx.actor!;
    if ((a.kind === 'operator' || a.kind === 'client') && a.tokenHash) deleteToken(ctx.db, a.tokenHash);
    return { ok: true };
  },
  'auth.me'(ctx) {
    const a = ctx.actor!;
    const op = a.kind === 'operator' ? getOperator(ctx.db, a.id) : null;
    return { kind: a.kind, id: a.id, name: a.name, role: a.role, permissions: permissionsOf(a), operator: op ? publicOperator(op) : null };
  },

  'operators.list': (ctx) => listOperators(ctx.db),
  'operators.create'(ctx, input) {
    guardOwner(ctx, input.role, 'create');
    if (findOperator(ctx.db, input.username)) throw new GatehouseError('conflict', `The username '${input.username}' is taken`, [{ path: 'username', message: 'taken' }]);
    const id = newId();
    insertOperator(ctx.db, {
      id,
      username: input.username,
      display_name: input.display_name,
      role: input.role,
      password_hash: hashSecret(input.password),
      pin_hash: input.pin ? hashSecret(input.pin) : null,
      now: ctx.nowIso,
    });
    const created = publicOperator(getOperator(ctx.db, id)!);
    ctx.log({ target_type: 'operator', target_id: id, after: created, touches: [] });
    return created;
  },
  'operators.update'(ctx, { id, password, pin, ...patch }) {
    const before = must(getOperator(ctx.db, id), 'Operator', id);
    guardOwner(ctx, before.role, 'change');
    if (patch.role) guardOwner(ctx, patch.role, 'appoint');
    keepAnOwner(ctx, before, (patch.role ?? before.role) === 'owner' && !(patch.disabled ?? before.disabled));
    const after: OperatorRow = {
      ...before,
      display_name: patch.display_name ?? before.display_name,
      role: patch.role ?? before.role,
      disabled: patch.disabled ?? before.disabled,
      password_hash: password ? hashSecret(password) : before.password_hash,
      pin_hash: pin === undefined ? before.pin_hash : pin === null ? null : hashSecret(pin),
    };
    updateOperator(ctx.db, after, ctx.nowIso);
    if (password || after.disabled || after.role !== before.role) deleteTokensOf(ctx.db, 'operator', id);
    const pub = publicOperator(getOperator(ctx.db, id)!);
    ctx.log({
      target_type: 'operator',
      target_id: id,
      before: { display_name: before.display_name, role: before.role, disabled: before.disabled },
      after: { display_name: pub.display_name, role: pub.role, disabled: pub.disabled, password_changed: !!password, pin_changed: pin !== undefined },
      touches: [],
    });
    return pub;
  },
  'operators.delete'(ctx, { id }) {
    const before = must(getOperator(ctx.db, id), 'Operator', id);
    guardOwner(ctx, before.role, 'remove');
    if (ctx.actor?.kind === 'operator' && ctx.actor.id === id) throw new GatehouseError('conflict', 'You cannot remove yourself');
    keepAnOwner(ctx, before, false);
    deleteTokensOf(ctx.db, 'operator', id);
    deleteOperator(ctx.db, id);
    ctx.log({ target_type: 'operator', target_id: id, before: publicOperator(before), touches: [] });
    return { id };
  },
  'operators.change_password'(ctx, { current_password, new_password }) {
    const a = ctx.actor!;
    if (a.kind !== 'operator') throw new GatehouseError('forbidden', 'Only an operator has a password to change');
    const op = must(getOperator(ctx.db, a.id), 'Operator', a.id);
    if (!verifySecret(current_password, op.password_hash)) throw invalid('current_password: wrong password', [{ path: 'current_password', message: 'wrong password' }]);
    updateOperator(ctx.db, { ...op, password_hash: hashSecret(new_password) }, ctx.nowIso);
    deleteTokensOf(ctx.db, 'operator', op.id);
    if (a.tokenHash) insertToken(ctx.db, { token_hash: a.tokenHash, subject_kind: 'operator', subject_id: op.id, created_at: ctx.now, expires_at: ctx.now + ctx.service.sessionTtlMs });
    ctx.log({ target_type: 'operator', target_id: op.id, after: { password_changed: true }, touches: [] });
    return { ok: true };
  },

  'api_clients.list': (ctx) => listApiClients(ctx.db),
  'api_clients.create'(ctx, { customer_reference, role }) {
    guardOwner(ctx, role, 'create');
    const secret = randomPassword(24);
    const row = {
      id: newId(),
      client_id: `gh_${randomBytes(9).toString('base64url')}`,
      customer_reference,
      role,
      disabled: false,
      secret_hash: hashSecret(secret),
      created_at: ctx.nowIso,
      updated_at: ctx.nowIso,
    };
    insertApiClient(ctx.db, row);
    const pub = publicClient(getApiClient(ctx.db, row.id)!);
    ctx.log({ target_type: 'api_client', target_id: row.id, after: pub, touches: [] });
    return { ...pub, client_secret: secret };
  },
  'api_clients.delete'(ctx, { id }) {
    const before = must(getApiClient(ctx.db, id), 'API client', id);
    guardOwner(ctx, before.role, 'remove');
    deleteApiClient(ctx.db, id);
    ctx.log({ target_type: 'api_client', target_id: id, before: publicClient(before), touches: [] });
    return { id };
  },

};
