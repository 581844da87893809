/**
 * The `table` helper for JavaScript scripts, as plain JavaScript source (no imports), so
 * that the JavaScript runner can evaluate it inside a fresh isolated-vm context.
 *
 * The source declares one global function, `createTableHelper(tables)`, which takes
 * `input.tables` (file id to `{ columnKeys, rows }` or CSV text) and returns the helper.
 * The runner defines the script's global with:
 *
 *   context.evalSync(TABLE_HELPER_SOURCE);
 *   context.evalClosureSync(`globalThis.table = ${TABLE_HELPER_FACTORY}($0);`, [tables],
 *     { arguments: { copy: true } });
 *
 * Python scripts get the same helper from `execution/python/table.py`. Both follow the
 * rules in `docs/table-helper.md`, and `test/fixtures/table-cases.json` checks both
 * against the same expected results, so change them together.
 */

/** Name of the global factory function that `TABLE_HELPER_SOURCE` declares. */
export const TABLE_HELPER_FACTORY = 'createTableHelper';

// String.raw keeps the escapes (\t, \u00a0) and regular expressions as written, so the
// isolate parses exactly the text below.
export const TABLE_HELPER_SOURCE = String.raw`
function createTableHelper(tables) {
  'use strict';

  // Stripped from both ends of a string before num() parses it. The set is explicit
  // because JavaScript's trim() and Python's str.strip() strip different sets.
  const TRIMMED = ' \t\n\v\f\r\u00a0\u202f\ufeff';
  // A decimal number with at most one separator ("." or ","), an optional sign and an
  // optional exponent.
  const DECIMAL = /^[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?$/;

  const sources = isObject(tables) ? tables : {};
  const parsed = new Map();

  function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  function hasOwn(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  // Defines an own property, so that keys such as "__proto__" stay ordinary data.
  function setField(object, key, value) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }

  function orNull(value) {
    return value === undefined ? null : value;
  }

  function isIntegral(value) {
    return typeof value === 'number' && Number.isInteger(value);
  }

  function trim(text) {
    let start = 0;
    let end = text.length;
    while (start < end && TRIMMED.includes(text[start])) {
      start += 1;
    }
    while (end > start && TRIMMED.includes(text[end - 1])) {
      end -= 1;
    }
    return text.slice(start, end);
  }

  function columnKeysOf(value) {
    if (Array.isArray(value) && value.every((key) => typeof key === 'string')) {
      return value.slice();
    }
    return null;
  }

  function copyRow(row) {
    if (Array.isArray(row)) {
      return row.map(orNull);
    }
    if (isObject(row)) {
      return rowAsObject(row, []);
    }
    return orNull(row);
  }

  function isBlank(cells, quoted) {
    return cells.length === 1 && !quoted && trim(cells[0]) === '';
  }

  // Splits CSV text into records of cells. Returns [{ cells, blank }].
  function csvRecords(text) {
    const records = [];
    let cells = [];
    let field = '';
    let quoted = false;
    let inQuotes = false;
    let i = 0;

    while (i < text.length) {
      const char = text[i];
      if (inQuotes) {
        if (char === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        if (char === '"') {
          inQuotes = false;
        } else {
          field += char;
        }
        i += 1;
        continue;
      }

      if (char === '"' && field === '' && !quoted) {
        inQuotes = true;
        quoted = true;
      } else if (char === ',') {
        cells.push(field);
        field = '';
        quoted = false;
      } else if (char === '\r' || char === '\n') {
        cells.push(field);
        records.push({ cells, blank: isBlank(cells, quoted) });
        cells = [];
        field = '';
        quoted = false;
        if (char === '\r' && text[i + 1] === '\n') {
          i += 1;
        }
      } else {
        // A quote inside an unquoted field, or text after a closing quote, is kept as is.
        field += char;
      }
      i += 1;
    }

    if (field !== '' || cells.length > 0 || quoted) {
      cells.push(field);
      records.push({ cells, blank: isBlank(cells, quoted) });
    }
    return records;
  }

  function parseCsv(text) {
    if (text.startsWith('\ufeff')) {
      text = text.slice(1);
    }

    const records = csvRecords(text).filter((record) => !record.blank).map((record) => record.cells);
    if (records.length === 0) {
      return { columnKeys: [], rows: [] };
    }

    const header = records[0].map(trim);
    const rows = records.slice(1).map((cells) => {
      const row = cells.slice(0, header.length);
      while (row.length < header.length) {
        row.push('');
      }
      return row;
    });
    return { columnKeys: header, rows };
  }

  function suppliedTable(data) {
    if (typeof data === 'string') {
      return parseCsv(data);
    }
    if (isObject(data)) {
      const rows = hasOwn(data, 'rows') && Array.isArray(data.rows) ? data.rows.slice() : [];
      return { columnKeys: columnKeysOf(data.columnKeys), rows };
    }
    return null;
  }

  function supplied(fileId) {
    if (fileId === null || !hasOwn(sources, fileId)) {
      return null;
    }
    if (!parsed.has(fileId)) {
      parsed.set(fileId, suppliedTable(sources[fileId]));
    }
    return parsed.get(fileId);
  }

  function keysOf(resolved) {
    if (resolved.columnKeys.length > 0) {
      return resolved.columnKeys.slice();
    }
    const first = resolved.rows[0];
    if (isObject(first)) {
      return Object.keys(first);
    }
    if (Array.isArray(first)) {
      return first.map((cell, position) => String(position));
    }
    return [];
  }

  function rowAsObject(row, keys) {
    const mapped = {};
    if (isObject(row)) {
      for (const key of Object.keys(row)) {
        setField(mapped, key, orNull(row[key]));
      }
      return mapped;
    }
    if (!Array.isArray(row)) {
      return mapped;
    }
    keys.forEach((key, position) => {
      setField(mapped, key, position < row.length ? orNull(row[position]) : null);
    });
    return mapped;
  }

  function lastPosition(keys, key) {
    return keys.lastIndexOf(key);
  }

  // Reads one cell of a raw row (array or object) by column key or column position.
  function readCell(row, keys, keyOrIndex) {
    let position;
    if (typeof keyOrIndex === 'string') {
      if (isObject(row)) {
        return hasOwn(row, keyOrIndex) ? orNull(row[keyOrIndex]) : null;
      }
      position = lastPosition(keys, keyOrIndex);
    } else if (isIntegral(keyOrIndex)) {
      if (keyOrIndex < 0 || keyOrIndex >= keys.length) {
        return null;
      }
      const key = keys[keyOrIndex];
      if (isObject(row)) {
        return hasOwn(row, key) ? orNull(row[key]) : null;
      }
      // A repeated column key maps to its last column, as in rows().
      position = lastPosition(keys, key);
    } else {
      return null;
    }

    if (!Array.isArray(row) || position < 0 || position >= row.length) {
      return null;
    }
    return orNull(row[position]);
  }

  // Remembers the last JSON string parsed, so that a loop of cell() calls on one string
  // parses it once instead of once per call.
  let lastJson = { text: null, parsed: null };

  function parseJson(text) {
    if (lastJson.text === text) {
      return lastJson.parsed;
    }
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    lastJson = { text, parsed };
    return parsed;
  }

  // Reads a table value without copying it, or returns null when it is not a table.
  function resolve(value) {
    if (typeof value === 'string') {
      value = parseJson(value);
    }
    if (!isObject(value) || !hasOwn(value, 'type') || value.type !== 'table') {
      return null;
    }

    const fileId = hasOwn(value, 'fileId') && typeof value.fileId === 'string' ? value.fileId : null;
    const table = supplied(fileId);
    if (table !== null) {
      return { fileId, columnKeys: table.columnKeys ?? [], rows: table.rows };
    }
    const rows = hasOwn(value, 'rows') && Array.isArray(value.rows) ? value.rows : [];
    return { fileId, columnKeys: columnKeysOf(value.columnKeys) ?? [], rows };
  }

  function normalize(value) {
    const resolved = resolve(value);
    if (resolved === null) {
      return null;
    }
    return {
      type: 'table',
      fileId: resolved.fileId,
      columnKeys: resolved.columnKeys.slice(),
      rows: resolved.rows.map(copyRow),
    };
  }

  function keys(value) {
    const resolved = resolve(value);
    return resolved === null ? [] : keysOf(resolved);
  }

  function rows(value) {
    const resolved = resolve(value);
    if (resolved === null) {
      return [];
    }
    const columns = keysOf(resolved);
    return resolved.rows.map((row) => rowAsObject(row, columns));
  }

  function cell(value, rowIndex, keyOrIndex) {
    const resolved = resolve(value);
    if (resolved === null || !isIntegral(rowIndex)) {
      return null;
    }
    if (rowIndex < 0 || rowIndex >= resolved.rows.length) {
      return null;
    }
    return readCell(resolved.rows[rowIndex], keysOf(resolved), keyOrIndex);
  }

  function col(value, keyOrIndex) {
    const resolved = resolve(value);
    if (resolved === null) {
      return [];
    }
    const columns = keysOf(resolved);
    return resolved.rows.map((row) => readCell(row, columns, keyOrIndex));
  }

  function num(value) {
    if (typeof value === 'number') {
      // Adding 0 turns -0 into 0, as in the Python helper.
      return Number.isFinite(value) ? value + 0 : 0;
    }
    if (typeof value !== 'string') {
      return 0;
    }

    const text = trim(value);
    if (!DECIMAL.test(text)) {
      return 0;
    }
    const number = Number(text.replace(',', '.'));
    return Number.isFinite(number) ? number + 0 : 0;
  }

  return Object.freeze({ normalize, keys, rows, cell, col, num });
}
`;
