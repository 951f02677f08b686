// osdp_LED (0x69) and osdp_BUZ (0x6A), the standard's way to make a device show itself: an installer
// with three hubs on the desk asks "which one is this?" and the right one flashes and beeps.
// Times are in the standard's 100 ms units.
export const LED_COLOR = { black: 0, red: 1, green: 2, amber: 3, blue: 4, magenta: 5, cyan: 6, white: 7 } as const;
export type LedColor = keyof typeof LED_COLOR;

/** One 14-byte LED record: a temporary flash for `forMs`, the permanent state left as it is. */
export interface TemporaryFlash {
  reader?: number;
  led?: number;
  onMs: number;
  offMs: number;
  on: LedColor;
  off: LedColor;
  forMs: number;
}

const units = (ms: number, max: number) => Math.min(max, Math.max(1, Math.round(ms / 100)));

export function encodeTemporaryFlash(f: TemporaryFlash): Uint8Array {
  const timer = units(f.forMs, 0xffff);
  return Uint8Array.of(f.reader ?? 0, f.led ?? 0, 2, units(f.onMs, 0xff), units(f.offMs, 0xff), LED_COLOR[f.on], LED_COLOR[f.off], timer & 0xff, timer >> 8, 0, 0, 0, 0, 0);
}

/** A temporary flash as the PD reads it: the longest temporary timer among the records, or null for none (or a malformed command). */
export function decodeFlashMs(data: Uint8Array): number | null {
  if (data.length === 0 || data.length % 14 !== 0) return null;
  let longest: number | null = null;
  for (let i = 0; i < data.length; i += 14) {
    if (data[i + 2] !== 2) continue;
    const ms = (data[i + 7]! | (data[i + 8]! << 8)) * 100;
    longest = Math.max(longest ?? 0, ms);
  }
  return longest;
}

/** osdp_BUZ: `count` beeps of the default tone (count 0 would be "until told otherwise": not offered). */
export function encodeBeeps(o: { count: number; onMs: number; offMs: number; reader?: number }): Uint8Array {
  return Uint8Array.of(o.reader ?? 0, 2, units(o.onMs, 0xff), units(o.offMs, 0xff), Math.min(255, Math.max(1, o.count)));
}

export function decodeBeeps(data: Uint8Array): number | null {
  if (data.length !== 5) return null;
  return data[1] === 2 ? data[4]! : 0;
}
