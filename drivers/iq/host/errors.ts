// Why an IQ hub operation failed, typed for the device manager to branch on and worded for the
// installer who reads it on the hubs page ("the hub refused the table: hash mismatch after transfer").
import type { OsdpErrorCode } from '../../osdp/errors.ts';
import type { ActivationOutcome, ErrorCode } from '../codes.ts';
import { errorFieldName } from '../mfg.ts';
import type { ReplyOf } from '../messages.ts';

export type IqHubErrorCode =
  /** The link is closed (unplugged, remote end, `close()`, or given up); nothing more can be sent. */
  | 'closed'
  /** OSDP could not carry the command (no reply, offline, refused by the link layer); `osdp` says how. */
  | 'link'
  /** The secure-channel handshake failed: wrong key, hub still in install mode, …; `osdp` says which. */
  | 'secure_channel'
  /** The device answered osdp_ID as something other than a Gatehouse IQ hub. */
  | 'not_a_hub'
  /** The hub's firmware does not speak this protocol version or this command. */
  | 'unsupported'
  /** The hub answered ERROR; `hubError` says which. */
  | 'refused'
  /** The hub kept answering `busy` past the deadline. */
  | 'busy'
  /** ACTIVATE_TABLE did not put the table in force; `outcome` says why, `enforced` what stays in force. */
  | 'table_refused'
  /** FILETRANSFER failed before the file was staged. */
  | 'transfer_failed'
  /** The caller passed something no hub could take (a file whose head contradicts the push, a bad key). */
  | 'invalid_input'
  /** A lock id the hub does not list, or an event naming a lock index it does not list. */
  | 'unknown_lock'
  /** The hub answered something the protocol does not allow there. */
  | 'protocol';

export interface IqHubErrorDetails {
  osdp?: OsdpErrorCode;
  hubError?: ErrorCode;
  /** The ERROR's `value` (e.g. the lock index for already_paired, the newest id for unacked_events). */
  value?: number;
  outcome?: ActivationOutcome;
  /** What the hub enforces after a refused activation (null: no table). */
  enforced?: { version: number; hash: string } | null;
  cause?: unknown;
}

export class IqHubError extends Error {
  override readonly name = 'IqHubError';

  constructor(
    readonly code: IqHubErrorCode,
    message: string,
    readonly details: IqHubErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }
}

/** "REMOTE_OPEN": how docs/iq-protocol.md and an installer's log name a command. */
export function commandLabel(type: string): string {
  return type.toUpperCase();
}

const HUB_ERROR_TEXT: Record<ErrorCode, string> = {
  unknown_command: "the hub's firmware does not know this command",
  bad_length: 'the hub could not read the command (wrong length): a Gatehouse or firmware bug',
  bad_field: 'the hub refused a field of the command',
  unsupported_version: 'the hub does not speak this protocol version',
  busy: 'the hub stayed busy',
  not_paired: 'the lock is not paired with this hub',
  lock_offline: 'the lock does not answer on the radio: check its batteries and its distance to the hub',
  already_paired: 'that radio address is already paired with this hub under another lock id',
  lock_table_full: 'the hub has no room for another lock',
  epoch_mismatch: "the hub's event ring changed (it was reset)",
  privacy_mode: 'the lock is in privacy mode: only a privacy override opens it',
  outside_schedule: "easy office mode is outside the lock's schedule",
  unacked_events: 'the hub still holds unacknowledged events of this lock: fetch and acknowledge them first',
  bad_nonce: 'the hub refused the factory-reset nonce (wrong, expired or already used): start over',
  clock_not_set: "the hub's clock is not set",
  storage_error: 'the hub could not write to its flash storage',
  internal_error: 'the hub reported an internal error',
};

/** The error for an ERROR reply to `command`. */
export function hubError(command: string, reply: ReplyOf<'error'>): IqHubError {
  const label = commandLabel(command);
  if (reply.error === 'unsupported_version') {
    return new IqHubError(
      'unsupported',
      `the hub speaks IQ protocol versions ${reply.min_version}–${reply.max_version}, Gatehouse speaks 1: the hub needs a firmware update`,
      { hubError: reply.error },
    );
  }
  if (reply.error === 'unknown_command') {
    return new IqHubError('unsupported', `the hub's firmware cannot do ${label}`, { hubError: reply.error });
  }
  let text = HUB_ERROR_TEXT[reply.error];
  if (reply.error === 'bad_field') text += ` (${errorFieldName(reply) ?? `field ${reply.field}`})`;
  if (reply.error === 'already_paired') text += ` (lock index ${reply.value})`;
  if (reply.error === 'unacked_events') text += ` (up to event ${reply.value})`;
  const said = reply.message ? `; the hub says: ${reply.message}` : '';
  return new IqHubError('refused', `${label}: ${text}${said}`, { hubError: reply.error, value: reply.value });
}

const OUTCOME_TEXT: Record<Exclude<ActivationOutcome, 'activated' | 'already_active'>, string> = {
  no_file: 'nothing of that kind was staged when it was activated',
  incomplete: 'the transfer was incomplete when it was activated',
  hash_mismatch: 'hash mismatch after transfer',
  base_mismatch: 'the diff was made for another version than the one the hub enforces (a full table is needed)',
  malformed: 'the file is malformed (it does not parse, or its records do not give the hash it claims)',
  not_valid_now: "the hub's clock is unset or outside the table's validity window (set the clock first)",
  storage_error: 'the hub could not write it to flash',
};

export function tableRefused(outcome: Exclude<ActivationOutcome, 'activated' | 'already_active'>, enforced: { version: number; hash: string } | null): IqHubError {
  const kept = enforced ? `it still enforces version ${enforced.version} (${enforced.hash.slice(0, 12)}…)` : 'it enforces no table';
  return new IqHubError('table_refused', `the hub refused the table: ${OUTCOME_TEXT[outcome]}; ${kept}`, { outcome, enforced });
}
