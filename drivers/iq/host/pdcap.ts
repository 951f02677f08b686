// What the host reads from osdp_PDCAP: the hub's receive buffer size, which bounds every command and
// so the FILETRANSFER fragment size. PDCAP is a list of 3-byte entries (function code, compliance,
// number of items); function code 10 carries the size, LSB in the compliance byte and MSB in the
// count (SIA OSDP v2.2 Annex B; libosdp doc/protocol/pd-capabilities.rst).
import { MAX_PACKET_LENGTH } from '../../osdp/packet.ts';

export const CAP_RECEIVE_BUFFER = 10;

/**
 * Assumed when a hub does not state its receive size: small enough for any OSDP device we know of.
 * Transfers are slower, never refused.
 */
export const FALLBACK_RECEIVE_SIZE = 128;

/** The receive size a PDCAP states, capped at OSDP's largest packet; null when the data is not a PDCAP list or says nothing. */
export function receiveSize(pdcap: Uint8Array): number | null {
  if (pdcap.length % 3 !== 0) return null;
  for (let i = 0; i < pdcap.length; i += 3) {
    if (pdcap[i] === CAP_RECEIVE_BUFFER) {
      const size = pdcap[i + 1]! | (pdcap[i + 2]! << 8);
      return size === 0 ? null : Math.min(size, MAX_PACKET_LENGTH);
    }
  }
  return null;
}
