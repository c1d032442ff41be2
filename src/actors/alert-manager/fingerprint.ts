const encoder = new TextEncoder();
const SEPARATOR = 0xff;
const FNV_PRIME_LOW = 0x1b3; // FNV-1a 64-bit prime is 2^40 + 0x1b3

/**
 * The fingerprint of a label set: FNV-1a 64 over sorted `name 0xff value 0xff`, as 16 hex digits.
 * The same algorithm as Prometheus' `model.LabelSet.Fingerprint`, so Vigil's fingerprints match
 * what Alertmanager shows for the same labels.
 */
export function fingerprint(labels: Record<string, string>): string {
  // 64-bit state kept as two 32-bit halves: plain numbers are much faster than BigInt here.
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  const addByte = (byte: number) => {
    lo = (lo ^ byte) >>> 0;
    const low = lo * FNV_PRIME_LOW; // < 2^41, exact
    hi = (Math.imul(hi, FNV_PRIME_LOW) + Math.floor(low / 0x1_0000_0000) + (lo << 8)) >>> 0;
    lo = low >>> 0;
  };
  const addString = (text: string) => {
    for (const byte of encoder.encode(text)) addByte(byte);
    addByte(SEPARATOR);
  };
  for (const name of Object.keys(labels).sort()) {
    addString(name);
    addString(labels[name] as string);
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
