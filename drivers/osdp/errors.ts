// Why a command sent by the control panel did not get its reply, as a typed value the IQ driver can
// branch on and an operator can read.
import type { NakReasonCode } from './codes.ts';

export type OsdpErrorCode =
  /** No valid reply after every retransmission. The PD may or may not have acted on the command. */
  | 'no_reply'
  /** The link is offline (or went offline while the command waited); it was not sent. */
  | 'offline'
  /** The link was stopped. */
  | 'stopped'
  /** The PD answered osdp_NAK; `nakReason` says why. It did not act on the command. */
  | 'nak'
  /** The command does not fit in one OSDP packet. */
  | 'too_large'
  /** Secure channel: the PD holds a different SCBK than we do. */
  | 'key_mismatch'
  /** Secure channel: we expect a provisioned key but the PD is still in install mode (answers with SCBK-D). */
  | 'install_mode'
  /** Secure channel: we asked for the default key but the PD is not in install mode. */
  | 'install_mode_refused'
  /** Secure channel: the PD refused the handshake or a command for lack of one. */
  | 'secure_channel_refused'
  /** The PD answered with something the protocol does not allow at that point. */
  | 'protocol';

export class OsdpError extends Error {
  override readonly name = 'OsdpError';

  constructor(
    readonly code: OsdpErrorCode,
    message: string,
    readonly details: { nakReason?: NakReasonCode | number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get nakReason(): number | undefined {
    return this.details.nakReason;
  }
}
