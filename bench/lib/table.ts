/** One printable table: a title and rows of cells keyed by column name (first row's keys order them). */
export interface Table {
  title: string;
  rows: Array<Record<string, string | number | boolean>>;
}

function cell(value: string | number | boolean | undefined): string {
  if (value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return value.toLocaleString("en-US");
    return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
  }
  return String(value);
}

/**
 * Renders a table as aligned plain text (a Markdown pipe table, so RESULTS.md can quote it as is):
 * numbers right-aligned with thousands separators and at most two decimals, text left-aligned.
 */
export function renderTable(table: Table): string {
  const columns: string[] = [];
  for (const row of table.rows)
    for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const text = table.rows.map((row) => columns.map((c) => cell(row[c])));
  const numeric = columns.map((c) =>
    table.rows.every((row) => row[c] === undefined || typeof row[c] === "number"),
  );
  const width = columns.map((c, i) => Math.max(c.length, 3, ...text.map((r) => (r[i] ?? "").length)));
  const pad = (s: string, i: number) => (numeric[i] ? s.padStart(width[i] ?? 0) : s.padEnd(width[i] ?? 0));
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const rule = `|${width.map((w, i) => (numeric[i] ? `${"-".repeat(w + 1)}:` : `:${"-".repeat(w + 1)}`)).join("|")}|`;
  return [`### ${table.title}`, "", line(columns), rule, ...text.map(line)].join("\n");
}
