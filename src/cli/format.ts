/** Terminal output shared by the CLI commands that talk to the daemon. */

/** An epoch-ms time as ISO-8601 to the second, or `-`. */
export const iso = (t: number | undefined): string => (t === undefined ? '-' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'));

export const print = (text: string): void => void process.stdout.write(`${text}\n`);
export const printJson = (value: unknown): void => print(JSON.stringify(value, null, 2));

/** Cuts long cells (URLs, error texts) so a row stays on one line of a terminal. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A column: its header, or its header and the width its cells are cut to. */
export type Column = string | { header: string; max: number };

/** Left-aligned columns two spaces apart; the last column is not padded. */
export function table(columns: readonly Column[], rows: readonly string[][]): string {
  const headers = columns.map((c) => (typeof c === 'string' ? c : c.header));
  const maxOf = (i: number) => {
    const col = columns[i];
    return typeof col === 'object' ? col.max : Infinity;
  };
  const cells = rows.map((row) => row.map((c, i) => clip(c, maxOf(i))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (row: string[]) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}
