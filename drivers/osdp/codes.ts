// Command, reply, NAK-reason and security-block codes of OSDP v2.2 (IEC 60839-11-5), as libosdp names
// them in src/osdp_common.h. The names are what logs and error messages show.

export const Command = {
  POLL: 0x60,
  ID: 0x61,
  CAP: 0x62,
  LSTAT: 0x64,
  ISTAT: 0x65,
  OSTAT: 0x66,
  RSTAT: 0x67,
  OUT: 0x68,
  LED: 0x69,
  BUZ: 0x6a,
  TEXT: 0x6b,
  COMSET: 0x6e,
  BIOREAD: 0x73,
  BIOMATCH: 0x74,
  KEYSET: 0x75,
  CHLNG: 0x76,
  SCRYPT: 0x77,
  ACURXSIZE: 0x7b,
  FILETRANSFER: 0x7c,
  MFG: 0x80,
  XWR: 0xa1,
  ABORT: 0xa2,
  PIVDATA: 0xa3,
  GENAUTH: 0xa4,
  CRAUTH: 0xa5,
  KEEPACTIVE: 0xa7,
} as const;

export const Reply = {
  ACK: 0x40,
  NAK: 0x41,
  PDID: 0x45,
  PDCAP: 0x46,
  LSTATR: 0x48,
  ISTATR: 0x49,
  OSTATR: 0x4a,
  RSTATR: 0x4b,
  RAW: 0x50,
  FMT: 0x51,
  KEYPAD: 0x53,
  COM: 0x54,
  BIOREADR: 0x57,
  BIOMATCHR: 0x58,
  CCRYPT: 0x76,
  RMAC_I: 0x78,
  BUSY: 0x79,
  FTSTAT: 0x7a,
  PIVDATAR: 0x80,
  GENAUTHR: 0x81,
  CRAUTHR: 0x82,
  MFGSTATR: 0x83,
  MFGERRR: 0x84,
  MFGREP: 0x90,
  XRD: 0xb1,
} as const;

/** The first data byte of an osdp_NAK. */
export const NakReason = {
  MSG_CHK: 0x01,
  CMD_LEN: 0x02,
  CMD_UNKNOWN: 0x03,
  SEQ_NUM: 0x04,
  SC_UNSUP: 0x05,
  SC_COND: 0x06,
  BIO_TYPE: 0x07,
  BIO_FMT: 0x08,
  RECORD: 0x09,
} as const;
export type NakReasonCode = (typeof NakReason)[keyof typeof NakReason];

const NAK_TEXT: Record<number, string> = {
  [NakReason.MSG_CHK]: 'message check character(s) error (bad checksum/CRC)',
  [NakReason.CMD_LEN]: 'command length error',
  [NakReason.CMD_UNKNOWN]: 'unknown command code (not implemented by the PD)',
  [NakReason.SEQ_NUM]: 'unexpected sequence number',
  [NakReason.SC_UNSUP]: 'security block not supported by the PD',
  [NakReason.SC_COND]: 'communication security conditions not met',
  [NakReason.BIO_TYPE]: 'biometric type not supported',
  [NakReason.BIO_FMT]: 'biometric format not supported',
  [NakReason.RECORD]: 'unable to process command record',
};

/** Security block types (SEC_BLK_TYPE). SCS_11..14 carry the handshake; 15..18 every later frame. */
export const Scs = {
  /** CP → PD, osdp_CHLNG. */
  SCS_11: 0x11,
  /** PD → CP, osdp_CCRYPT. */
  SCS_12: 0x12,
  /** CP → PD, osdp_SCRYPT. */
  SCS_13: 0x13,
  /** PD → CP, osdp_RMAC_I. */
  SCS_14: 0x14,
  /** CP → PD, MAC, data in the clear. */
  SCS_15: 0x15,
  /** PD → CP, MAC, data in the clear. */
  SCS_16: 0x16,
  /** CP → PD, MAC, data encrypted. */
  SCS_17: 0x17,
  /** PD → CP, MAC, data encrypted. */
  SCS_18: 0x18,
} as const;

const COMMAND_NAMES = invert(Command);
const REPLY_NAMES = invert(Reply);

function invert(codes: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(codes).map(([name, code]) => [code, name]));
}

function hex(code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** "LED (0x69)", or "unknown command (0x5F)". */
export function commandName(code: number): string {
  return `${COMMAND_NAMES.get(code) ?? 'unknown command'} (${hex(code)})`;
}

/** "NAK (0x41)", or "unknown reply (0x5F)". */
export function replyName(code: number): string {
  return `${REPLY_NAMES.get(code) ?? 'unknown reply'} (${hex(code)})`;
}

/** "unexpected sequence number (0x04)". */
export function nakReasonText(reason: number): string {
  return `${NAK_TEXT[reason] ?? 'unknown NAK reason'} (${hex(reason)})`;
}
