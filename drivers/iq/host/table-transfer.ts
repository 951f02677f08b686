// Staging a table file on a hub with osdp_FILETRANSFER (docs/iq-protocol.md, "Access tables over
// FILETRANSFER"): ask FILE_STATUS what is already there, continue from the staged prefix when it is
// ours (same kind, size and SHA-256), and follow each FTSTAT until the hub reports the file staged.
// Activation is the caller's next step; nothing here puts a table in force.
import type { FtKind } from '../codes.ts';
import { FT_STATUS, ftStatusName, ftTypeCode, maxFragmentSize, resumeOffset, type FileTransfer, type FtStat } from '../file-transfer.ts';
import type { ReplyOf } from '../messages.ts';
import { IqHubError } from './errors.ts';

/** What the transfer needs of the link; the client provides it. */
export interface TransferIo {
  fileStatus(): Promise<ReplyOf<'file_state'>>;
  send(ft: FileTransfer): Promise<FtStat>;
  /** The largest FILETRANSFER packet the hub takes (PDCAP, or the FtUpdateMsgMax it sent since). */
  maxPacket(): Promise<number>;
  setMaxPacket(size: number): void;
  /** osdp_POLL, for when FTSTAT says a poll reply is waiting. */
  poll(): Promise<void>;
  sleep(ms: number): Promise<void>;
  now(): number;
  /** FtAction bit 0: whether other commands may go out between fragments. */
  interleave(allowed: boolean): void;
}

/** A hub that aborts the transfer is given one fresh start; a second abort is an answer. */
const MAX_RESTARTS = 1;
/** Fragments refused (-3) before the transfer gives up: each one costs a FILE_STATUS and a resume. */
const MAX_REFUSALS = 3;
/** How long a hub may keep answering "still writing" after the last fragment. */
const FINISHING_LIMIT_MS = 60_000;
/** Idle fragments go no faster than this, whatever FtDelay says, so a 0 does not make a busy loop. */
const MIN_IDLE_DELAY_MS = 20;

/** Resolves once the hub has the whole file staged, with where this transfer started: 0, or the length of our prefix the hub already had. */
export async function stageFile(io: TransferIo, file: Uint8Array, kind: FtKind): Promise<number> {
  const state = await io.fileStatus();
  if (file.length > state.max_file_size) {
    throw new IqHubError('transfer_failed', `the table file (${file.length} bytes) is larger than the hub can stage (${state.max_file_size} bytes)`);
  }
  let offset = resumeOffset(file, kind, state);
  const resumedFrom = offset;
  if (offset === file.length) return resumedFrom;
  let restarts = 0;
  let refusals = 0;
  let finishingSince: number | null = null;
  // Nothing else goes out between fragments until the hub's first FTSTAT says it may.
  io.interleave(false);
  try {
    for (;;) {
      const idle = offset >= file.length;
      // Sized as if sealed, always: the control panel keeps room for the secure channel on every command.
      const fragmentSize = maxFragmentSize(await io.maxPacket(), true);
      const data = idle ? new Uint8Array(0) : file.subarray(offset, offset + fragmentSize);
      const stat = await io.send({ ft_type: ftTypeCode(kind), total_size: file.length, offset: idle ? file.length : offset, data });
      if (stat.leave_secure_channel) {
        throw new IqHubError('transfer_failed', 'the hub asked to leave the secure channel for the transfer; Gatehouse never sends a table in the clear');
      }
      if (stat.update_msg_max > 0) io.setMaxPacket(stat.update_msg_max);
      io.interleave(stat.interleave);
      if (stat.poll_response_available) await io.poll();
      switch (stat.status) {
        case FT_STATUS.processed:
          return resumedFrom;
        case FT_STATUS.ok:
        case FT_STATUS.finishing:
          if (!idle) {
            offset += data.length;
          } else {
            // A hub that keeps saying "stored" or "still writing" to idle fragments is given a deadline.
            finishingSince ??= io.now();
            if (io.now() - finishingSince > FINISHING_LIMIT_MS) {
              throw new IqHubError('transfer_failed', `the hub was still writing the table ${FINISHING_LIMIT_MS / 1000} s after the last fragment`);
            }
          }
          break;
        case FT_STATUS.abort:
          if (++restarts > MAX_RESTARTS) throw new IqHubError('transfer_failed', 'the hub aborted the table transfer twice; nothing is staged');
          offset = 0;
          break;
        case FT_STATUS.unrecognized:
          throw new IqHubError('transfer_failed', `the hub does not take table files of this kind (FtType 0x${ftTypeCode(kind).toString(16)}): its firmware does not match Gatehouse`);
        case FT_STATUS.malformed:
          if (++refusals > MAX_REFUSALS) throw new IqHubError('transfer_failed', `the hub refused ${refusals} fragments of the table; what it had staged is kept`);
          offset = resumeOffset(file, kind, await io.fileStatus());
          break;
        default:
          throw new IqHubError('transfer_failed', `the hub answered the table transfer with status ${stat.status} (${ftStatusName(stat.status)})`);
      }
      const delay = idle ? Math.max(stat.delay_ms, MIN_IDLE_DELAY_MS) : stat.delay_ms;
      if (delay > 0) await io.sleep(delay);
    }
  } finally {
    io.interleave(true);
  }
}
