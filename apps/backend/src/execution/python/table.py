"""The `table` helper that Custom Logic scripts use to read table fields.

A table field is ``{"type": "table", "fileId": ..., "columnKeys": [...], "rows": [...]}``,
or the same object as a JSON string. Tables supplied with the run (``input.tables``:
file id to ``{"columnKeys", "rows"}`` or CSV text) replace the inline rows of the table
field with that file id.

The JavaScript runner defines the same helper from ``table-helper.ts``. Both follow the
rules in ``docs/table-helper.md``, and one table of cases
(``apps/backend/test/fixtures/table-cases.json``) checks CPython, Pyodide and JavaScript
against the same expected results. Change both files together.

This module uses only the standard library, so that Pyodide and the Docker image load it
without extra packages.
"""

import decimal
import json
import math
import numbers
import re

__all__ = ["TableHelper", "make_table_helper", "parse_csv", "table"]

# Characters stripped from both ends of a string before `num` parses it: ASCII
# whitespace, no-break space, narrow no-break space and the byte order mark. The set is
# explicit because Python's str.strip() and JavaScript's trim() strip different sets.
_TRIMMED = " \t\n\v\f\r\u00a0\u202f\ufeff"

# A decimal number with at most one separator ("." or ","), an optional sign and an
# optional exponent. [0-9] rather than \d, because Python's \d also matches other scripts' digits.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")

# Keys that JavaScript treats as array indexes and therefore lists first, in ascending order.
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_MAX_ARRAY_INDEX = 2**32 - 2


def _reject_constant(name):
    # JSON.parse rejects NaN and Infinity, so json.loads must reject them too.
    raise ValueError(f"{name} is not valid JSON")


def _is_integral(value):
    """Return True for an int or an integral float, the only valid row and column indexes."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, float) and value.is_integer()


def _is_array(value):
    return isinstance(value, (list, tuple))


def _javascript_key_order(keys):
    """Order object keys as JavaScript does: array-index keys ascending, then the rest in insertion order."""
    indexes = []
    names = []
    for key in keys:
        if isinstance(key, str) and _ARRAY_INDEX.fullmatch(key) and int(key) <= _MAX_ARRAY_INDEX:
            indexes.append(key)
        else:
            names.append(key)
    indexes.sort(key=int)
    return indexes + names


def _column_keys(value):
    """Return the column keys if `value` is a list of strings, else None."""
    if _is_array(value) and all(isinstance(key, str) for key in value):
        return list(value)
    return None


def _copy_row(row):
    if _is_array(row):
        return list(row)
    if isinstance(row, dict):
        return dict(row)
    return row


def parse_csv(text):
    """Parse CSV text into ``{"columnKeys": header, "rows": [[cell, ...], ...]}``.

    The first non-blank record is the header, with a leading byte order mark removed and
    every cell trimmed. Quoted fields may contain commas, line breaks and ``""`` for a
    quote. Records end at CRLF, CR or LF. Blank lines are skipped. Each row has exactly
    one cell per header cell: missing trailing cells are ``""`` and extra cells are dropped.
    """
    if text.startswith("\ufeff"):
        text = text[1:]

    records = [record for record, blank in _csv_records(text) if not blank]
    if not records:
        return {"columnKeys": [], "rows": []}

    header = [cell.strip(_TRIMMED) for cell in records[0]]
    width = len(header)
    rows = []
    for record in records[1:]:
        cells = record[:width]
        cells.extend([""] * (width - len(cells)))
        rows.append(cells)
    return {"columnKeys": header, "rows": rows}


def _csv_records(text):
    """Yield ``(cells, blank)`` for each record, where blank marks an unquoted, whitespace-only line."""
    cells = []
    field = []
    quoted = False
    in_quotes = False
    i = 0
    length = len(text)

    while i < length:
        char = text[i]
        if in_quotes:
            if char == '"' and i + 1 < length and text[i + 1] == '"':
                field.append('"')
                i += 2
                continue
            if char == '"':
                in_quotes = False
            else:
                field.append(char)
            i += 1
            continue

        if char == '"' and not field and not quoted:
            in_quotes = True
            quoted = True
        elif char == ",":
            cells.append("".join(field))
            field = []
            quoted = False
        elif char in "\r\n":
            cells.append("".join(field))
            yield cells, _is_blank(cells, quoted)
            cells = []
            field = []
            quoted = False
            if char == "\r" and i + 1 < length and text[i + 1] == "\n":
                i += 1
        else:
            # A quote inside an unquoted field, or text after a closing quote, is kept as is.
            field.append(char)
        i += 1

    if field or cells or quoted:
        cells.append("".join(field))
        yield cells, _is_blank(cells, quoted)


def _is_blank(cells, quoted):
    return len(cells) == 1 and not quoted and cells[0].strip(_TRIMMED) == ""


def _supplied_table(data):
    """Turn one ``input.tables`` entry into ``(column_keys, rows)``, or None if it is neither form."""
    if isinstance(data, str):
        parsed = parse_csv(data)
        return parsed["columnKeys"], parsed["rows"]
    if isinstance(data, dict):
        rows = data.get("rows")
        return _column_keys(data.get("columnKeys")), list(rows) if _is_array(rows) else []
    return None


class _Resolved:
    """A table value read without copying: file id, column keys (possibly empty) and rows."""

    __slots__ = ("file_id", "column_keys", "rows")

    def __init__(self, file_id, column_keys, rows):
        self.file_id = file_id
        self.column_keys = column_keys
        self.rows = rows

    def keys(self):
        if self.column_keys:
            return list(self.column_keys)
        if not self.rows:
            return []
        first = self.rows[0]
        if isinstance(first, dict):
            return _javascript_key_order(first.keys())
        if _is_array(first):
            return [str(position) for position in range(len(first))]
        return []


class TableHelper:
    """Read table fields: normalize them, list keys and rows, and read cells and columns.

    Every method accepts a table field, its JSON string or the result of `normalize`.
    Anything that is not a table reads as an empty table. Arguments default to None, as
    missing arguments are undefined in the JavaScript helper.
    """

    def __init__(self, tables=None):
        self._sources = dict(tables) if isinstance(tables, dict) else {}
        self._parsed = {}
        # The last JSON string parsed, so that a loop of cell() calls on one string
        # parses it once instead of once per call.
        self._last_json = (None, None)

    def normalize(self, value=None):
        """Return ``{"type", "fileId", "columnKeys", "rows"}`` for a table value, else None.

        When ``fileId`` names a table supplied with the run, that table's column keys and
        rows replace the inline ones. The lists and rows are copies.
        """
        resolved = self._resolve(value)
        if resolved is None:
            return None
        return {
            "type": "table",
            "fileId": resolved.file_id,
            "columnKeys": list(resolved.column_keys),
            "rows": [_copy_row(row) for row in resolved.rows],
        }

    def keys(self, value=None):
        """Return the column keys, else the keys of the first row.

        A first row that is a list gives its positions as strings ("0", "1", ...).
        """
        resolved = self._resolve(value)
        return resolved.keys() if resolved is not None else []

    def rows(self, value=None):
        """Return every row as a dict keyed by column, mapping list rows through the keys."""
        resolved = self._resolve(value)
        if resolved is None:
            return []
        keys = resolved.keys()
        return [_row_as_dict(row, keys) for row in resolved.rows]

    def cell(self, value=None, row_index=None, key_or_index=None):
        """Return one cell, by column key or column position, or None when there is none."""
        resolved = self._resolve(value)
        if resolved is None or not _is_integral(row_index):
            return None
        row_index = int(row_index)
        if row_index < 0 or row_index >= len(resolved.rows):
            return None
        keys = resolved.keys()
        return _read_cell(resolved.rows[row_index], keys, key_or_index)

    def col(self, value=None, key_or_index=None):
        """Return one column as a list with one entry per row, None where a row has no such cell."""
        resolved = self._resolve(value)
        if resolved is None:
            return []
        keys = resolved.keys()
        return [_read_cell(row, keys, key_or_index) for row in resolved.rows]

    def num(self, value=None):
        """Convert a cell to a number by the one rule that all runtimes share.

        Finite numbers pass through (integers as int, other real numbers and Decimals as
        float) and non-finite ones become 0. A string is trimmed and
        accepted only if all of it is a decimal number with at most one separator, where
        "," reads as the decimal point ("1,5" is 1.5). Booleans, None, "1,234.5", "12abc",
        "NaN", "Infinity" and "" are 0.
        """
        if isinstance(value, bool):
            return 0
        if isinstance(value, numbers.Integral):
            # Integers are always finite, and math.isfinite overflows on ints beyond a float's range.
            return int(value)
        if isinstance(value, decimal.Decimal):
            # float() raises on a signalling NaN, so check finiteness on the Decimal itself.
            return float(value) + 0.0 if value.is_finite() else 0
        if isinstance(value, numbers.Real):
            # Adding 0.0 turns -0.0 into 0.0, which JSON and JavaScript print as 0.
            number = float(value)
            return number + 0.0 if math.isfinite(number) else 0
        if not isinstance(value, str):
            return 0

        text = value.strip(_TRIMMED)
        if not _DECIMAL.fullmatch(text):
            return 0
        number = float(text.replace(",", "."))
        return number + 0.0 if math.isfinite(number) else 0

    def _resolve(self, value):
        """Read a table value without copying it, or return None when it is not a table."""
        if isinstance(value, str):
            value = self._parse_json(value)
        if not isinstance(value, dict) or value.get("type") != "table":
            return None

        file_id = value.get("fileId")
        file_id = file_id if isinstance(file_id, str) else None
        supplied = self._supplied(file_id)
        if supplied is not None:
            column_keys, rows = supplied
        else:
            column_keys = _column_keys(value.get("columnKeys"))
            rows = value.get("rows")
            rows = rows if _is_array(rows) else []
        return _Resolved(file_id, column_keys or [], rows)

    def _parse_json(self, text):
        if self._last_json[0] == text:
            return self._last_json[1]
        try:
            parsed = json.loads(text, parse_constant=_reject_constant)
        except ValueError:
            parsed = None
        self._last_json = (text, parsed)
        return parsed

    def _supplied(self, file_id):
        if file_id is None or file_id not in self._sources:
            return None
        if file_id not in self._parsed:
            self._parsed[file_id] = _supplied_table(self._sources[file_id])
        return self._parsed[file_id]


def _row_as_dict(row, keys):
    if isinstance(row, dict):
        return dict(row)
    if not _is_array(row):
        return {}
    mapped = {}
    for position, key in enumerate(keys):
        mapped[key] = row[position] if position < len(row) else None
    return mapped


def _read_cell(row, keys, key_or_index):
    """Read one cell of a raw row (list or dict) by column key or column position."""
    if isinstance(key_or_index, str):
        if isinstance(row, dict):
            return row.get(key_or_index)
        position = _last_position(keys, key_or_index)
    elif _is_integral(key_or_index):
        position = int(key_or_index)
        if position < 0 or position >= len(keys):
            return None
        if isinstance(row, dict):
            return row.get(keys[position])
        # A repeated column key maps to its last column, as in rows().
        position = _last_position(keys, keys[position])
    else:
        return None

    if not _is_array(row) or position is None or position >= len(row):
        return None
    return row[position]


def _last_position(keys, key):
    for position in range(len(keys) - 1, -1, -1):
        if keys[position] == key:
            return position
    return None


def make_table_helper(tables=None):
    """Create the helper for one run from ``input.tables`` (file id to table data or CSV text)."""
    return TableHelper(tables)


table = make_table_helper()
