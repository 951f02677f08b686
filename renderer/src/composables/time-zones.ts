// The time-zone picker's options (IANA zones this browser knows, with their offset now) and its search:
// "new york", "New_York" and "america/new" all find America/New_York.
import { DateTime } from 'luxon';

const ZONES = (() => {
  const all = new Set(Intl.supportedValuesOf('timeZone'));
  all.add('UTC');
  return [...all].sort();
})();

export const utcOffset = (zone: string) => DateTime.now().setZone(zone).toFormat('ZZ');

/** Every zone as a select option; `keep` stays listed even if this browser does not know it (older ICU). */
export function zoneOptions(keep?: string | null): Array<{ label: string; value: string }> {
  const zones = new Set(ZONES);
  if (keep) zones.add(keep);
  return [...zones].map((z) => ({ label: `${z} (UTC${utcOffset(z)})`, value: z }));
}

const plain = (s: string) => s.toLowerCase().replace(/[_\s]+/g, ' ');
export const zoneFilter = (pattern: string, option: { value?: string | number }) => plain(String(option.value ?? '')).includes(plain(pattern.trim()));
