/** Go's fmt verbs for numbers and strings, as Prometheus templates print them (%v, %s, %d, %f, %e, %g, %q, %%). */

/** Digits and decimal-point position of |v| rounded to `digits` significant digits, ties to even like strconv. */
function roundedDigits(v: number, digits: number): { digits: string; dp: number } {
  const exp = Math.abs(v).toExponential(Math.max(0, digits - 1));
  let [mantissa, e] = exp.split('e') as [string, string];
  // JavaScript rounds exact ties up; strconv rounds them to even.
  const precise = Math.abs(v).toExponential(Math.min(100, digits + 25)).split('e')[0]!.replace('.', '');
  const tail = precise.slice(digits);
  if (/^50*$/.test(tail) && Number(precise[digits - 1] ?? '0') % 2 === 0) {
    const truncated = precise.slice(0, digits);
    mantissa = truncated.length > 1 ? `${truncated[0]}.${truncated.slice(1)}` : truncated;
    e = Math.abs(v).toExponential(Math.min(100, digits + 25)).split('e')[1]!;
  }
  return { digits: mantissa.replace('.', ''), dp: Number(e) + 1 };
}

function shortestDigits(v: number): { digits: string; dp: number } {
  const [mantissa, e] = Math.abs(v).toExponential().split('e') as [string, string];
  return { digits: mantissa.replace('.', ''), dp: Number(e) + 1 };
}

function fmtE(d: { digits: string; dp: number }, prec: number, neg: boolean): string {
  let digits = d.digits;
  if (prec + 1 > digits.length) digits = digits.padEnd(prec + 1, '0');
  const exp = d.digits === '0' ? 0 : d.dp - 1;
  const mant = prec > 0 ? `${digits[0]}.${digits.slice(1, prec + 1)}` : digits[0]!;
  return `${neg ? '-' : ''}${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function fmtF(d: { digits: string; dp: number }, decimals: number, neg: boolean): string {
  let intPart: string;
  let frac: string;
  if (d.dp <= 0) {
    intPart = '0';
    frac = '0'.repeat(-d.dp) + d.digits;
  } else {
    intPart = d.digits.slice(0, d.dp).padEnd(d.dp, '0');
    frac = d.digits.slice(d.dp);
  }
  frac = frac.padEnd(decimals, '0').slice(0, decimals);
  return `${neg ? '-' : ''}${intPart}${decimals > 0 ? `.${frac}` : ''}`;
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return undefined;
}

/** strconv.FormatFloat(v, verb, prec, 64) for 'e', 'f', 'g' (prec -1: shortest). */
function formatFloat(v: number, verb: 'e' | 'f' | 'g', prec: number): string {
  const sp = special(v);
  if (sp) return sp;
  const neg = v < 0 || Object.is(v, -0);
  if (v === 0) {
    if (verb === 'e') return fmtE({ digits: '0', dp: 1 }, prec < 0 ? 0 : prec, neg);
    if (verb === 'f') return fmtF({ digits: '0', dp: 1 }, prec < 0 ? 0 : prec, neg);
    return `${neg ? '-' : ''}0`;
  }
  const shortest = prec < 0;
  if (verb === 'f') {
    if (shortest) {
      const d = shortestDigits(v);
      return fmtF(d, Math.max(d.digits.length - d.dp, 0), neg);
    }
    const d0 = shortestDigits(v);
    const sig = Math.max(d0.dp + prec, 0);
    if (sig === 0) return fmtF({ digits: '0', dp: 1 }, prec, neg);
    const d = roundedDigits(v, sig);
    return fmtF(d, prec, neg);
  }
  if (verb === 'e') {
    const d = shortest ? shortestDigits(v) : roundedDigits(v, prec + 1);
    return fmtE(d, shortest ? d.digits.length - 1 : prec, neg);
  }
  let p = prec === 0 ? 1 : prec;
  const d = shortest ? shortestDigits(v) : roundedDigits(v, p);
  const digs = { digits: d.digits.replace(/0+$/, '') || '0', dp: d.dp };
  let eprec = p;
  if (eprec > digs.digits.length && digs.digits.length >= digs.dp) eprec = digs.digits.length;
  if (shortest) eprec = 6;
  const exp = digs.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (shortest || p > digs.digits.length) p = digs.digits.length;
    return fmtE(digs, p - 1, neg);
  }
  if (shortest || p > digs.dp) p = digs.digits.length;
  return fmtF(digs, Math.max(p - digs.dp, 0), neg);
}

function goString(x: unknown): string {
  if (typeof x === 'number') return formatFloat(x, 'g', -1);
  if (x === undefined || x === null) return '<nil>';
  if (typeof x === 'object') return `map[${Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, val]) => `${k}:${goString(val)}`).join(' ')}]`;
  return String(x);
}

/** Go's fmt.Sprintf for the verbs templates use. */
export function goSprintf(format: string, args: unknown[]): string {
  let argIndex = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d*))?([vsdfeEgGqxX%])/g, (_all, flags: string, width?: string, precText?: string, verb?: string) => {
    if (verb === '%') return '%';
    if (argIndex >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[argIndex++];
    const prec = precText === undefined ? -1 : Number(precText || '0');
    let out: string;
    if (typeof arg === 'number' && 'feEgGv'.includes(verb!)) {
      const base = verb === 'v' ? 'g' : (verb!.toLowerCase() as 'e' | 'f' | 'g');
      out = formatFloat(arg, base, verb === 'v' ? -1 : prec < 0 && base === 'g' ? -1 : prec < 0 ? 6 : prec);
      if (flags.includes('+') && arg >= 0) out = `+${out}`;
    } else if (verb === 'd') {
      out = typeof arg === 'number' && Number.isInteger(arg) ? String(arg) : `%!d(${typeof arg === 'number' ? 'float64' : 'string'}=${goString(arg)})`;
    } else if (verb === 'q') {
      out = JSON.stringify(String(arg));
    } else if (verb === 'x' || verb === 'X') {
      out = typeof arg === 'number' ? Math.trunc(arg).toString(16) : Buffer.from(String(arg)).toString('hex');
      if (verb === 'X') out = out.toUpperCase();
    } else if (typeof arg === 'string' && 'feEgG'.includes(verb!)) {
      out = `%!${verb}(string=${arg})`;
    } else {
      out = goString(arg);
      if (prec >= 0 && verb === 's') out = out.slice(0, prec);
    }
    const w = width ? Number(width) : 0;
    if (out.length < w) out = flags.includes('-') ? out.padEnd(w) : flags.includes('0') && typeof arg === 'number' ? out.padStart(w, '0') : out.padStart(w);
    return out;
  });
}
