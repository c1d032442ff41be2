/** Go's number formatting, as Prometheus templates print values (fmt %v, %g, %e, %f and printf). */

/**
 * Go rounds a float's exact decimal expansion half to even; JavaScript's toExponential/toFixed round
 * half up. For exact ties (1.5625 to 4 digits) this returns the value truncated to `digits` significant
 * digits when Go would round down, so JavaScript then formats it as Go does.
 */
function halfEven(v: number, digits: number): number {
  if (!Number.isFinite(v) || v === 0 || digits < 1 || digits > 60) return v;
  const [mantissa, e] = Math.abs(v).toExponential(Math.min(100, digits + 40)).split('e') as [string, string];
  const d = mantissa.replace('.', '');
  if (d[digits] !== '5' || !/^0*$/.test(d.slice(digits + 1))) return v;
  if (Number(d[digits - 1]) % 2 === 1) return v; // odd: JavaScript's round-up is Go's too
  const truncated = Number(`${d[0]}.${d.slice(1, digits)}e${e}`);
  return v < 0 ? -truncated : truncated;
}

function fixed(v: number, decimals: number): string {
  if (v === 0) return v.toFixed(decimals);
  const exp = Math.floor(Math.log10(Math.abs(v)));
  return halfEven(v, exp + 1 + decimals).toFixed(decimals);
}

function trimZeros(mantissa: string): string {
  return mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
}

function exponentForm(v: number, digits: number, keepZeros: boolean): string {
  const [m, e] = halfEven(v, digits + 1).toExponential(digits).split('e') as [string, string];
  const exp = Number(e);
  return `${keepZeros ? m : trimZeros(m)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return undefined;
}

/** %.<precision>g: `precision` significant digits, trailing zeros removed, Go's exponent rule. */
export function goG(v: number, precision: number): string {
  const s = special(v);
  if (s) return s;
  if (v === 0) return '0';
  const p = Math.max(1, precision);
  const exp = Number(halfEven(v, p).toExponential(p - 1).split('e')[1]);
  if (exp < -4 || exp >= p) return exponentForm(v, p - 1, false);
  return trimZeros(fixed(v, Math.max(0, p - 1 - exp)));
}

/** Go's fmt.Sprint of a float64 (%v, and %g without precision): shortest digits, exponent below 1e-4 or from 1e6. */
export function goFloat(v: number): string {
  const s = special(v);
  if (s) return s;
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa, e] = v.toExponential().split('e') as [string, string];
  const exp = Number(e);
  const digits = mantissa.replace(/[-.]/g, '').length;
  if (exp < -4 || exp >= 6) return exponentForm(v, digits - 1, false);
  return v.toFixed(Math.max(0, digits - 1 - exp));
}

/** fmt.Sprintf for the verbs templates use: %s %v %d %f %e %g %q %x %%, with width, precision and - / 0 flags. */
export function goSprintf(format: string, args: unknown[]): string {
  let i = 0;
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([svdfegqxXt%])/g, (_whole, flags: string, width: string | undefined, precision: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const arg = args[i++];
    let out: string;
    const num = typeof arg === 'number' ? arg : Number(arg);
    switch (verb) {
      case 'd':
        out = Number.isFinite(num) ? String(Math.trunc(num)) : `%!d(${typeof arg}=${String(arg)})`;
        break;
      case 'f':
        out = special(num) ?? fixed(num, precision === undefined ? 6 : Number(precision));
        break;
      case 'e':
        out = special(num) ?? exponentForm(num, precision === undefined ? 6 : Number(precision), true);
        break;
      case 'g':
        out = precision === undefined ? goFloat(num) : goG(num, Number(precision));
        break;
      case 'q':
        out = JSON.stringify(String(arg));
        break;
      case 'x':
      case 'X':
        out = typeof arg === 'number' ? Math.trunc(arg).toString(16) : Buffer.from(String(arg)).toString('hex');
        if (verb === 'X') out = out.toUpperCase();
        break;
      case 't':
        out = String(Boolean(arg));
        break;
      default:
        out = formatValue(arg);
    }
    if (flags.includes('+') && typeof arg === 'number' && num >= 0) out = `+${out}`;
    if (width !== undefined && out.length < Number(width)) {
      const pad = Number(width) - out.length;
      out = flags.includes('-') ? out + ' '.repeat(pad) : flags.includes('0') && verb !== 's' ? '0'.repeat(pad) + out : ' '.repeat(pad) + out;
    }
    return out;
  });
}

/** How a template prints a value. */
export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '<no value>';
  if (typeof value === 'number') return goFloat(value);
  if (typeof value === 'object' && !Array.isArray(value)) {
    return `map[${Object.keys(value)
      .sort()
      .map((k) => `${k}:${formatValue((value as Record<string, unknown>)[k])}`)
      .join(' ')}]`;
  }
  if (Array.isArray(value)) return `[${value.map(formatValue).join(' ')}]`;
  return String(value);
}
