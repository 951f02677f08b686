// The FTSTAT answers a Gatehouse hub rarely gives, against a scripted hub: abort, refused fragments,
// a new packet size, a waiting poll reply, and the answers the host must not go along with.
import { describe, expect, it } from 'vitest';
import type { FtKind } from '../codes.ts';
import { FT_STATUS, maxFragmentSize, prefixSha256, type FileTransfer, type FtStat } from '../file-transfer.ts';
import type { ReplyOf } from '../messages.ts';
import { IqHubError } from './errors.ts';
import { stageFile, type TransferIo } from './table-transfer.ts';

const FILE = Uint8Array.from({ length: 2000 }, (_, i) => (i * 7) & 0xff);
const KIND: FtKind = 'table';

function stat(status: number, extra: Partial<FtStat> = {}): FtStat {
  return { interleave: true, leave_secure_channel: false, poll_response_available: false, delay_ms: 0, status, update_msg_max: 0, ...extra };
}

function fileState(received: number): ReplyOf<'file_state'> {
  return received === 0
    ? { type: 'file_state', ft_type: 'none', total_size: 0, received: 0, prefix_sha256: new Uint8Array(32), max_file_size: 1 << 20 }
    : { type: 'file_state', ft_type: KIND, total_size: FILE.length, received, prefix_sha256: prefixSha256(FILE, received), max_file_size: 1 << 20 };
}

/**
 * A hub that stages fragments in order. `refuse` answers instead of storing; `decorate` adds to the
 * FTSTAT of a stored fragment.
 */
function scripted(refuse: (n: number) => FtStat | null, decorate: (n: number) => Partial<FtStat> = () => ({})) {
  let received = 0;
  let packet = 512;
  let clock = 0;
  const sent: FileTransfer[] = [];
  const calls: string[] = [];
  const io: TransferIo = {
    fileStatus: async () => {
      calls.push('file_status');
      return fileState(received);
    },
    send: async (ft) => {
      sent.push(ft);
      calls.push(`ft ${ft.offset}+${ft.data.length}`);
      const refused = refuse(sent.length);
      if (refused) return refused;
      if (ft.offset === 0) received = 0;
      if (ft.data.length > 0 && ft.offset === received) received += ft.data.length;
      return stat(received === FILE.length ? FT_STATUS.processed : FT_STATUS.ok, decorate(sent.length));
    },
    maxPacket: async () => packet,
    setMaxPacket: (n) => {
      packet = n;
    },
    poll: async () => {
      calls.push('poll');
    },
    sleep: async (ms) => {
      calls.push(`sleep ${ms}`);
    },
    // Time moves with every look, so a stuck transfer meets its deadline instead of spinning.
    now: () => (clock += 1000),
    interleave: () => {},
  };
  return { io, sent, calls };
}

async function failure(p: Promise<unknown>): Promise<IqHubError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof IqHubError)) throw new Error(`expected an IqHubError, got ${String(e)}`);
  return e;
}

describe('stageFile', () => {
  it('starts over once after an abort, and gives up after a second', async () => {
    const once = scripted((n) => (n === 3 ? stat(FT_STATUS.abort) : null));
    expect(await stageFile(once.io, FILE, KIND)).toBe(0);
    const size = maxFragmentSize(512, true);
    expect(once.sent.map((ft) => ft.offset)).toEqual([0, size, 2 * size, 0, size, 2 * size, 3 * size, 4 * size]);

    const twice = scripted((n) => (n === 2 || n === 4 ? stat(FT_STATUS.abort) : null));
    const e = await failure(stageFile(twice.io, FILE, KIND));
    expect(e.message).toBe('the hub aborted the table transfer twice; nothing is staged');
  });

  it('asks FILE_STATUS after a refused fragment and resumes where the hub is', async () => {
    const s = scripted((n) => (n === 3 ? stat(FT_STATUS.malformed) : null));
    await stageFile(s.io, FILE, KIND);
    const size = maxFragmentSize(512, true);
    expect(s.calls.slice(0, 5)).toEqual(['file_status', 'ft 0+' + size, `ft ${size}+${size}`, `ft ${2 * size}+${size}`, 'file_status']);
    expect(s.sent[3]!.offset).toBe(2 * size);
  });

  it('takes a new packet size, polls when a reply waits, and waits FtDelay', async () => {
    const s = scripted(
      () => null,
      (n) => (n === 1 ? { update_msg_max: 200, poll_response_available: true, delay_ms: 30 } : {}),
    );
    await stageFile(s.io, FILE, KIND);
    const first = maxFragmentSize(512, true);
    expect(s.calls.slice(0, 4)).toEqual(['file_status', `ft 0+${first}`, 'poll', 'sleep 30']);
    expect(s.sent[1]).toMatchObject({ offset: first, data: FILE.subarray(first, first + maxFragmentSize(200, true)) });
  });

  it('refuses to leave the secure channel, and reports an unknown file type and an unknown status', async () => {
    const leave = await failure(stageFile(scripted(() => null, () => ({ leave_secure_channel: true })).io, FILE, KIND));
    expect(leave.message).toMatch(/never sends a table in the clear/);
    const type = await failure(stageFile(scripted(() => stat(FT_STATUS.unrecognized)).io, FILE, KIND));
    expect(type.message).toMatch(/FtType 0x80.*firmware does not match/);
    const odd = await failure(stageFile(scripted(() => stat(FT_STATUS.rebooting)).io, FILE, KIND));
    expect(odd.message).toBe('the hub answered the table transfer with status 2 (rebooting)');
  });

  it('gives a hub that never finishes a deadline', async () => {
    const s = scripted((n) => (n > 4 ? stat(FT_STATUS.finishing) : null));
    const e = await failure(stageFile(s.io, FILE, KIND));
    expect(e.message).toBe('the hub was still writing the table 60 s after the last fragment');
  });

  it('resumes from the staged prefix and sends nothing when the whole file is there', async () => {
    const s = scripted(() => null);
    await stageFile(s.io, FILE, KIND);
    s.sent.length = 0;
    expect(await stageFile(s.io, FILE, KIND)).toBe(FILE.length);
    expect(s.sent).toEqual([]);
  });
});
