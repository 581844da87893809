/**
 * Summary statistics and plain-text tables for benchmark samples (milliseconds unless a
 * column names another unit).
 */

/** Returns the p-th percentile (0-100) of the samples by the nearest-rank method. */
export function percentile(samples, p) {
  if (samples.length === 0) {
    return Number.NaN;
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Summarizes latency samples: count, median, p99, min, max and mean. */
export function summarize(samples) {
  const count = samples.length;
  const mean = count === 0 ? Number.NaN : samples.reduce((sum, value) => sum + value, 0) / count;
  return {
    count,
    medianMs: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
    minMs: count === 0 ? Number.NaN : Math.min(...samples),
    maxMs: count === 0 ? Number.NaN : Math.max(...samples),
    meanMs: mean,
  };
}

/** Formats a number for a table cell: `-` for missing values, fewer decimals for large ones. */
export function formatNumber(value, digits) {
  if (value === undefined || value === null || Number.isNaN(value)) {
    return '-';
  }
  if (digits !== undefined) {
    return value.toFixed(digits);
  }
  if (Math.abs(value) >= 100) {
    return value.toFixed(0);
  }
  if (Math.abs(value) >= 10) {
    return value.toFixed(1);
  }
  return value.toFixed(2);
}

/** Renders rows of cells as a Markdown table, so the output can be pasted into the docs. */
export function renderTable(headers, rows) {
  const cells = rows.map((row) => row.map((cell) => String(cell)));
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...cells.map((row) => (row[column] ?? '').length)),
  );
  const line = (row) => `| ${row.map((cell, column) => (cell ?? '').padEnd(widths[column])).join(' | ')} |`;
  const separator = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(headers), separator, ...cells.map(line)].join('\n');
}
