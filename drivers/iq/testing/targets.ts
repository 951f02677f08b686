// The fuzz targets: every decoder of the protocol with a corpus of valid encodings and the checks
// that tie its typed failures to the wire (a bad_field names a field of that message, and the hub's
// ERROR reply for it can be encoded and read back).
import fc from 'fast-check';
import { COMMAND_FIELDS, COMMANDS, REPLIES, REPLY_FIELDS } from '../codes.ts';
import { decodeFileTransfer, decodeFtStat, encodeFileTransfer, encodeFtStat, type FileTransfer, type FtStat } from '../file-transfer.ts';
import type { IqCommand, IqReply } from '../messages.ts';
import { decodeCommand, decodeReply, encodeCommand, encodeReply, errorReplyFor } from '../mfg.ts';
import type { DecodeErrorCode } from '../wire.ts';
import { commandArbitraries, fileTransferArbitrary, ftStatArbitrary, replyArbitraries } from './arbitraries.ts';
import type { FuzzTarget } from './fuzz.ts';

const HEADER_FIELDS = ['vendor', 'version', 'code'];

function sample<T>(arb: fc.Arbitrary<T>, n: number, seed: number): T[] {
  return fc.sample(arb, { numRuns: n, seed });
}

const topField = (field: string) => field.split(/[.[]/)[0]!;

function fieldCheck(fields: (code: number) => readonly string[] | undefined) {
  return (input: Uint8Array, error: { code: DecodeErrorCode; field: string | null }): string | null => {
    if (error.code !== 'bad_field' || error.field === null) return null;
    const top = topField(error.field);
    if (HEADER_FIELDS.includes(top)) return null;
    const known = fields(input[4] ?? -1);
    if (!known || !known.includes(top)) return `bad_field names ${error.field}, not a field of message 0x${(input[4] ?? 0).toString(16)}`;
    return null;
  };
}

export function commandTarget(perType: number, seed: number): FuzzTarget<IqCommand> {
  const corpus = Object.values(commandArbitraries).flatMap((arb, i) => sample(arb as fc.Arbitrary<IqCommand>, perType, seed + i).map(encodeCommand));
  const fields = fieldCheck((code) => {
    const t = COMMANDS.byCode.get(code);
    return t && COMMAND_FIELDS[t];
  });
  return {
    name: 'decodeCommand',
    decode: decodeCommand,
    encode: encodeCommand,
    corpus,
    keep: 5,
    checkError: (input, error) => {
      const f = fields(input, error);
      if (f) return f;
      // What a hub would answer must itself be a valid ERROR reply.
      const reply = errorReplyFor(input, error);
      if (reply === null) return error.code === 'bad_vendor' ? null : `no ERROR reply for ${error.code}`;
      const back = decodeReply(encodeReply(reply));
      if (!back.ok) return `its ERROR reply does not decode: ${back.error.message}`;
      if (error.code === 'bad_field' && reply.error === 'bad_field' && reply.field === 0) return 'bad_field reply without a field';
      return null;
    },
  };
}

export function replyTarget(perType: number, seed: number): FuzzTarget<IqReply> {
  const corpus = Object.values(replyArbitraries).flatMap((arb, i) => sample(arb as fc.Arbitrary<IqReply>, perType, seed + i).map(encodeReply));
  return {
    name: 'decodeReply',
    decode: decodeReply,
    encode: encodeReply,
    corpus,
    keep: 5,
    checkError: fieldCheck((code) => {
      const t = REPLIES.byCode.get(code);
      return t && REPLY_FIELDS[t];
    }),
  };
}

export function fileTransferTarget(n: number, seed: number): FuzzTarget<FileTransfer> {
  return { name: 'decodeFileTransfer', decode: decodeFileTransfer, encode: encodeFileTransfer, corpus: sample(fileTransferArbitrary, n, seed).map(encodeFileTransfer), keep: 11 };
}

export function ftStatTarget(n: number, seed: number): FuzzTarget<FtStat> {
  return { name: 'decodeFtStat', decode: decodeFtStat, encode: encodeFtStat, corpus: sample(ftStatArbitrary, n, seed).map(encodeFtStat), keep: 0 };
}
