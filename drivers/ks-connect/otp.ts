// The one-time code KS asks for on hardware changes and remote openings (domain.md §1.3): "the current
// UTC date/time (format: YYYYmmDDHHMMSS), the secret and the PIN code. The first 5 digits of the MD5
// hash of these 3 parts concatenated together is an OTP", valid 3 minutes. The IQ secret comes from
// activating the IQ, the PIN is the admin's per-IQ PIN.
//
// Our reading of "the first 5 digits" (docs/ks-connect.md): the first five decimal digit characters
// of the lowercase hex digest, in order, padded with '0' at the end in the rare digest that has fewer.
import { createHash } from 'node:crypto';

const two = (n: number) => String(n).padStart(2, '0');

/** YYYYmmDDHHMMSS in UTC. */
export function otpTimestamp(at: Date): string {
  return `${at.getUTCFullYear()}${two(at.getUTCMonth() + 1)}${two(at.getUTCDate())}${two(at.getUTCHours())}${two(at.getUTCMinutes())}${two(at.getUTCSeconds())}`;
}

export function computeOtp(secret: string, pin: string, at: Date): string {
  if (Number.isNaN(at.getTime())) throw new TypeError('computeOtp needs a valid time');
  const hex = createHash('md5').update(`${otpTimestamp(at)}${secret}${pin}`, 'utf8').digest('hex');
  return (hex.match(/[0-9]/g) ?? []).slice(0, 5).join('').padEnd(5, '0');
}
