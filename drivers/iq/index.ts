// The IQ hub protocol: Gatehouse's MFG commands over OSDP and access-table transfer over
// FILETRANSFER (docs/iq-protocol.md). Codecs only: drivers/osdp carries the bytes, and a
// composition root wires the results to the core.
export * from './codes.ts';
export type * from './messages.ts';
export { decodeCommand, decodeReply, encodeCommand, encodeReply, errorFieldName, errorReplyFor } from './mfg.ts';
export {
  decodeFileTransfer,
  decodeFtStat,
  encodeFileTransfer,
  encodeFtStat,
  fragmentFile,
  FT_STATUS,
  ftStatusName,
  ftTypeCode,
  maxFragmentSize,
  prefixSha256,
  resumeOffset,
  tableFileHead,
  type FileTransfer,
  type FtStat,
  type FtStatusName,
  type TableFileHead,
} from './file-transfer.ts';
export type { DecodeError, DecodeErrorCode, DecodeResult } from './wire.ts';
