/** A MAC address as it is stored and compared: upper case, dash-separated ("00-14-22-01-23-45"). */
export const normalizeMac = (s: string): string => s.trim().toUpperCase().replace(/[:.]/g, '-');
