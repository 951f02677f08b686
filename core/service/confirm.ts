// The second confirmation of actions that open doors (KS asks for a one-time code; here the operator
// types their PIN, or their password when they have no PIN). A stolen session alone cannot open a door.
// Short PINs are guessable, so failures are throttled per operator like sign-ins.
import { GatehouseError, invalid } from '../contract/errors.ts';
import { getOperator } from '../store/repos/operators.ts';
import type { CommandContext } from './context.ts';
import { verifySecret } from './passwords.ts';

/**
 * Refuses an operator's action without the right `otp`. Integration clients (their secret is the
 * credential, and they act without a person) and the system itself need none.
 */
export function requireConfirmation(ctx: CommandContext, otp: string | undefined, action: string): void {
  const actor = ctx.actor;
  if (!actor || actor.kind !== 'operator') return;
  const keys = [`confirm:${actor.id}`];
  const wait = ctx.service.throttle.retryAfter(keys);
  if (wait > 0) throw new GatehouseError('rate_limited', `Too many wrong confirmations; try again in ${wait} s`, [{ path: 'retry_after', message: String(wait) }]);
  const op = getOperator(ctx.db, actor.id);
  if (!op) throw new GatehouseError('unauthenticated', 'The session is invalid or has expired; sign in again');
  const what = op.pin_hash ? 'your PIN' : 'your password';
  if (!otp) throw invalid(`${action} needs a second confirmation: ${what}`, [{ path: 'otp', message: `required: ${what}` }]);
  if (!verifySecret(otp, op.pin_hash ?? op.password_hash)) {
    ctx.service.throttle.fail(keys);
    throw new GatehouseError('forbidden', `The confirmation is wrong: type ${what}`, [{ path: 'otp', message: `not ${what}` }]);
  }
  ctx.service.throttle.succeed(keys);
}
