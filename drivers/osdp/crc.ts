// The two check characters an OSDP packet can end with (CTRL bit 2 chooses): CRC-16/AUG-CCITT, sent
// little-endian, or an 8-bit two's-complement checksum. Both cover the packet from SOM up to the
// check itself; the 0xFF mark byte in front is never covered (libosdp osdp_phy.c, SIA OSDP Annex E).

const CRC_TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
}

/** CRC-16/AUG-CCITT: polynomial 0x1021, MSB first, initial value 0x1D0F, no final XOR. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0x1d0f;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >>> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** The byte that makes the sum of the covered bytes and itself 0 modulo 256. */
export function checksum8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i]!;
  return -sum & 0xff;
}
