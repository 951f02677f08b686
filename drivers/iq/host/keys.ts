// How a Gatehouse IQ names itself before the secure channel is up (docs/iq-protocol.md, "Keys"): its cUID
// in osdp_CCRYPT is its MAC, so the host can pick the hub's own key at step 2 of the handshake, before
// anything of the IQ protocol may run. The cUID is not proof of anything: the client cryptogram under
// the key stored for that MAC is.
import { formatAddress } from './convert.ts';

export const CLIENT_UID_LENGTH = 8;
const MAC_LENGTH = 6;

/** The cUID a hub with this MAC (6 bytes) sends in osdp_CCRYPT: the MAC, then `00 00`. */
export function clientUidForMac(mac: Uint8Array): Uint8Array {
  if (mac.length !== MAC_LENGTH) throw new RangeError(`a hub's MAC is ${MAC_LENGTH} bytes, got ${mac.length}`);
  const uid = new Uint8Array(CLIENT_UID_LENGTH);
  uid.set(mac);
  return uid;
}

/** The MAC ("00-14-22-01-23-45") a cUID names, or null when it is not a Gatehouse IQ's cUID. */
export function macFromClientUid(uid: Uint8Array): string | null {
  if (uid.length !== CLIENT_UID_LENGTH || uid[6] !== 0 || uid[7] !== 0) return null;
  return formatAddress(uid.subarray(0, MAC_LENGTH));
}
