/**
 * Alertmanager label matchers: `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`.
 * Regexes are anchored (they must match the whole value) and a missing label counts as the empty
 * string, as in Alertmanager, so `team!="db"` matches alerts without a team.
 */

export type MatchOperator = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOperator;
  value: string;
  /** The anchored regex of `=~` and `!~`. */
  regex?: RegExp;
}

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
/** Longest first, so `!=` is not read as `!` and `=~` not as `=`. */
const OPERATORS: readonly MatchOperator[] = ['=~', '!~', '!=', '='];
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', '\\': '\\', '"': '"' };

/** Reads a double-quoted value with `\"`, `\\`, `\n`, `\t` escapes; returns the value and what follows it. */
function readQuoted(text: string): { value: string; rest: string } {
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') return { value, rest: text.slice(i + 1) };
    if (c === '\\') {
      const escaped = ESCAPES[text[i + 1] ?? ''];
      if (escaped === undefined) throw new Error(`unknown escape "\\${text[i + 1] ?? ''}" in the value`);
      value += escaped;
      i++;
    } else {
      value += c;
    }
  }
  throw new Error('the value has no closing quote');
}

/** Parses one matcher; throws an Error saying what is wrong (the caller adds where). */
export function parseMatcher(text: string): Matcher {
  const input = text.trim();
  const name = NAME.exec(input)?.[0];
  if (!name) throw new Error(`"${text}" must start with a label name (letters, digits and _, not starting with a digit)`);
  const afterName = input.slice(name.length).trimStart();
  const op = OPERATORS.find((o) => afterName.startsWith(o));
  if (!op) throw new Error(`"${text}" needs an operator after "${name}": =, !=, =~ or !~`);
  const valueText = afterName.slice(op.length).trimStart();
  let value: string;
  if (valueText.startsWith('"')) {
    const quoted = readQuoted(valueText);
    if (quoted.rest.trim()) throw new Error(`"${text}" has unexpected text after the value: "${quoted.rest.trim()}"`);
    value = quoted.value;
  } else {
    // Alertmanager's classic syntax also takes an unquoted value.
    if (/["\s]/.test(valueText.trimEnd())) throw new Error(`"${text}": quote a value that contains spaces or quotes`);
    value = valueText.trimEnd();
  }
  if (op === '=~' || op === '!~') {
    try {
      return { name, op, value, regex: new RegExp(`^(?:${value})$`) };
    } catch (err) {
      throw new Error(`"${text}" has an invalid regex: ${(err as Error).message}`, { cause: err });
    }
  }
  return { name, op, value };
}

/** Parses a list of matchers; an error names the index of the one that is wrong. */
export function parseMatchers(texts: readonly string[]): Matcher[] {
  return texts.map((t, i) => {
    try {
      return parseMatcher(t);
    } catch (err) {
      throw new MatcherError(i, (err as Error).message);
    }
  });
}

/** A matcher list that does not parse: `index` says which one. */
export class MatcherError extends Error {
  override name = 'MatcherError';
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

export function matches(matcher: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const value = labels[matcher.name] ?? '';
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return matcher.regex!.test(value);
    case '!~':
      return !matcher.regex!.test(value);
  }
}

/** True when every matcher matches: an empty list matches everything. */
export function matchesAll(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => matches(m, labels));
}

/** The canonical text of a matcher, as Alertmanager prints it. */
export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}
