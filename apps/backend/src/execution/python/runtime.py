"""Run one Custom Logic script and report what it does as sandbox events.

This file is the only Python that wraps user code, in both execution modes:

* Docker mode runs ``python3 runtime.py`` with a ``SandboxRunRequest`` (JSON) on stdin
  and writes one JSON event per line (``SandboxEvent``) to stdout.
* Pyodide mode imports this module inside a worker thread and awaits
  ``run_request(request_json, emit)``, where ``emit`` receives each event as a JSON
  string.

The script gets ``documents``, ``user``, ``artifacts`` and ``sources`` as native Python
values, the ``table`` helper from ``table.py`` beside this file (when it exists), and
``done(result, final=True)`` and ``debug(*values)``. Every value given to ``done`` or
``debug`` goes through one set of JSON conversion rules (``docs/json-conversion.md``).

Event shapes are defined in ``packages/shared/src/protocol.ts``. Every run ends with
exactly one ``sandbox:error`` or ``sandbox:complete`` event.
"""

import asyncio
import builtins
import datetime
import enum
import importlib
import importlib.util
import io
import json
import linecache
import math
import os
import re
import sys
import time
import traceback
import types

SCRIPT_FILENAME = "<script>"
PRELUDE_FILENAME = "<artifact>"
USER_FILENAMES = (SCRIPT_FILENAME, PRELUDE_FILENAME)

# Used when a request carries no limits; the backend always sends its own.
DEFAULT_LIMITS = {"stdoutMaxChars": 1_000_000, "valueMaxBytes": 5_000_000, "maxEvents": 10_000}

# Printed text is sent as it is written, up to STDOUT_IMMEDIATE_FLUSHES events per
# STDOUT_FLUSH_INTERVAL_S; beyond that rate it is buffered and sent in chunks of
# STDOUT_CHUNK_CHARS, or when the script awaits. A script that prints faster than that
# rate and then hangs loses at most one interval of output at the timeout.
STDOUT_CHUNK_CHARS = 64 * 1024
STDOUT_FLUSH_INTERVAL_S = 0.1
STDOUT_IMMEDIATE_FLUSHES = 20

# JavaScript numbers represent integers exactly only up to 2**53 - 1.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_VALUE_DEPTH = 256
NON_FINITE_PATHS_LISTED = 10


# ---------------------------------------------------------------------------
# Errors raised into the script
# ---------------------------------------------------------------------------


class JsonConversionError(TypeError):
    """A value given to done() or debug() has no JSON form."""


class ValueTooLargeError(ValueError):
    """A value given to done() or debug() is larger than the run's valueMaxBytes."""


# ---------------------------------------------------------------------------
# JSON conversion
# ---------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def _key_path(path, key):
    if _IDENTIFIER.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


class JsonConverter:
    """Convert one done() or debug() value to plain JSON types, recording non-finite numbers.

    Optional libraries (numpy, pandas) are handled only when the script already loaded
    them: the converter looks them up in ``sys.modules`` and never imports them.
    """

    def __init__(self, call_name):
        self.call_name = call_name
        self.non_finite = []
        self._open_containers = set()
        self._numpy = sys.modules.get("numpy")
        self._pandas = sys.modules.get("pandas")

    def convert(self, value, path="$", depth=0):
        if depth > MAX_VALUE_DEPTH:
            raise JsonConversionError(
                f"{self.call_name}(): value at {path} is nested deeper than {MAX_VALUE_DEPTH} levels; "
                "flatten the structure before passing it"
            )

        if value is None or value is True or value is False:
            return value
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, int):
            return self._convert_int(int(value))
        if isinstance(value, float):
            return self._convert_float(float(value), path)

        special = self._convert_library_value(value, path, depth)
        if special is not _NOT_HANDLED:
            return special

        if isinstance(value, dict):
            return self._guarded(value, path, lambda: self._convert_mapping(value.items(), path, depth))
        if isinstance(value, (list, tuple)):
            return self._guarded(value, path, lambda: self._convert_items(value, path, depth))
        if isinstance(value, (set, frozenset)):
            return self._guarded(value, path, lambda: self._convert_items(_sorted_if_possible(value), path, depth))
        return self._convert_scalar(value, path, depth)

    def _convert_int(self, number):
        if -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
            return number
        return str(number)

    def _convert_float(self, number, path):
        if math.isfinite(number):
            return number
        self.non_finite.append((path, repr(number)))
        return None

    def _convert_scalar(self, value, path, depth):
        # datetime is a subclass of date, so it is tested first.
        if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
            return value.isoformat()
        if isinstance(value, datetime.timedelta):
            return self._convert_float(value.total_seconds(), path)
        if _is_instance_of_loaded(value, "decimal", "Decimal"):
            return self._convert_decimal(value, path)
        if _is_instance_of_loaded(value, "fractions", "Fraction"):
            return self._convert_float(float(value), path)
        if isinstance(value, (bytes, bytearray, memoryview)):
            import base64

            return base64.b64encode(bytes(value)).decode("ascii")
        if _is_instance_of_loaded(value, "uuid", "UUID"):
            return str(value)
        if isinstance(value, enum.Enum):
            return self.convert(value.value, path, depth + 1)
        dataclasses = sys.modules.get("dataclasses")
        if dataclasses is not None and dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = ((field.name, getattr(value, field.name)) for field in dataclasses.fields(value))
            return self._guarded(value, path, lambda: self._convert_mapping(fields, path, depth))
        raise self._unconvertible(value, path)

    def _convert_decimal(self, value, path):
        if not value.is_finite():
            self.non_finite.append((path, f"Decimal('{value}')"))
            return None
        if value == value.to_integral_value():
            return self._convert_int(int(value))
        return float(value)

    def _convert_library_value(self, value, path, depth):
        pandas = self._pandas
        if pandas is not None:
            if value is pandas.NA or value is pandas.NaT:
                return None
            if isinstance(value, pandas.DataFrame):
                records = value.to_dict(orient="records")
                return self._guarded(value, path, lambda: self._convert_items(records, path, depth))
            if isinstance(value, (pandas.Series, pandas.Index)):
                items = value.tolist()
                return self._guarded(value, path, lambda: self._convert_items(items, path, depth))

        numpy = self._numpy
        if numpy is not None:
            if isinstance(value, numpy.ndarray):
                return self._convert_ndarray(numpy, value, path, depth)
            if isinstance(value, (numpy.datetime64, numpy.timedelta64)):
                return self._convert_numpy_time(numpy, value, path, depth)
            if isinstance(value, numpy.generic):
                return self.convert(value.item(), path, depth + 1)
        return _NOT_HANDLED

    def _convert_ndarray(self, numpy, array, path, depth):
        if array.dtype.kind in "Mm":
            # tolist() turns nanosecond datetimes into plain integers, so convert element by element.
            items = list(array)
        else:
            items = array.tolist()
        if not isinstance(items, list):
            return self.convert(items, path, depth + 1)
        return self._guarded(array, path, lambda: self._convert_items(items, path, depth))

    def _convert_numpy_time(self, numpy, value, path, depth):
        if numpy.isnat(value):
            return None
        item = value.item()
        if isinstance(item, int):
            # Units finer than microseconds have no datetime equivalent: round to microseconds.
            unit = "datetime64[us]" if isinstance(value, numpy.datetime64) else "timedelta64[us]"
            item = value.astype(unit).item()
        return self.convert(item, path, depth + 1)

    def _convert_mapping(self, items, path, depth):
        result = {}
        for key, item in items:
            json_key = self._convert_key(key, path)
            if json_key in result:
                raise JsonConversionError(
                    f"{self.call_name}(): two keys at {path} both become the JSON key {json.dumps(json_key)}; "
                    "rename one of them"
                )
            result[json_key] = self.convert(item, _key_path(path, json_key), depth + 1)
        return result

    def _convert_items(self, items, path, depth):
        return [self.convert(item, f"{path}[{index}]", depth + 1) for index, item in enumerate(items)]

    def _convert_key(self, key, path):
        if isinstance(key, str):
            return str.__str__(key)
        if self._numpy is not None and isinstance(key, self._numpy.generic):
            key = key.item()
        # Same spelling as json.dumps uses for non-string keys.
        if key is None:
            return "null"
        if key is True or key is False:
            return "true" if key else "false"
        if isinstance(key, int):
            return str(int(key))
        if isinstance(key, float):
            return float.__repr__(float(key))
        raise JsonConversionError(
            f"{self.call_name}(): key {key!r} at {path} has type {_type_name(key)}, but JSON object keys "
            "must be str, int, float, bool or None; convert the key with str()"
        )

    def _guarded(self, container, path, convert_children):
        marker = id(container)
        if marker in self._open_containers:
            raise JsonConversionError(
                f"{self.call_name}(): value at {path} contains itself (a circular reference), "
                "which JSON cannot represent"
            )
        self._open_containers.add(marker)
        try:
            return convert_children()
        finally:
            self._open_containers.discard(marker)

    def _unconvertible(self, value, path):
        return JsonConversionError(
            f"{self.call_name}(): value at {path} has type {_type_name(value)}, which cannot be converted "
            "to JSON; pass dicts, lists, str, int, float, bool, None, datetimes, Decimal or bytes"
        )


_NOT_HANDLED = object()


def _is_instance_of_loaded(value, module_name, type_name):
    """Return True when ``value`` is a ``module_name.type_name``, without importing the module.

    A value can only be one when its module is loaded. Runs that never use decimal,
    fractions or uuid therefore do not pay for importing them.
    """
    module = sys.modules.get(module_name)
    return module is not None and isinstance(value, getattr(module, type_name))


def _sorted_if_possible(values):
    try:
        return sorted(values)
    except TypeError:
        return list(values)


def _type_name(value):
    kind = type(value)
    if kind.__module__ in ("builtins", "__main__"):
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def to_json_text(value, call_name):
    """Convert ``value`` with the JSON rules and return (compact JSON text, non-finite paths)."""
    converter = JsonConverter(call_name)
    plain = converter.convert(value)
    text = json.dumps(plain, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text, converter.non_finite


# ---------------------------------------------------------------------------
# Events and captured output
# ---------------------------------------------------------------------------


class EventSink:
    """Serialize events and pass each one, as a JSON string, to ``emit``."""

    def __init__(self, emit):
        self._emit = emit
        self.streams = []

    def send(self, event):
        self.send_text(json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":")))

    def send_text(self, event_text):
        for stream in self.streams:
            stream.flush()
        self._emit(event_text)

    def send_output(self, event_type, text):
        self._emit(json.dumps({"type": event_type, "text": text}, ensure_ascii=False, separators=(",", ":")))

    def warn(self, code, message):
        self.send({"type": "sandbox:warning", "code": code, "message": message})


class CapturedStream(io.TextIOBase):
    """Stand-in for sys.stdout or sys.stderr that keeps at most ``max_chars`` characters.

    Text is buffered and sent in chunks. Text beyond the cap is counted, and
    ``close_run`` appends a marker with the number of characters not shown.
    """

    def __init__(self, sink, event_type, max_chars):
        super().__init__()
        self._sink = sink
        self._event_type = event_type
        self._max_chars = max_chars
        self._kept_chars = 0
        self._dropped_chars = 0
        self._buffer = []
        self._buffered_chars = 0
        self._window_start_s = time.monotonic()
        self._window_flushes = 0
        self._closed = False

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {_type_name(text)}")
        length = len(text)
        room = self._max_chars - self._kept_chars
        if room <= 0:
            self._dropped_chars += length
            return length
        if length > room:
            self._dropped_chars += length - room
            text = text[:room]

        self._kept_chars += len(text)
        if not self._buffer:
            self._schedule_flush()
        self._buffer.append(text)
        self._buffered_chars += len(text)
        if self._buffered_chars >= STDOUT_CHUNK_CHARS or self._may_flush_now():
            self.flush()
        return length

    def _may_flush_now(self):
        now = time.monotonic()
        if now - self._window_start_s >= STDOUT_FLUSH_INTERVAL_S:
            self._window_start_s = now
            self._window_flushes = 0
        return self._window_flushes < STDOUT_IMMEDIATE_FLUSHES

    def _schedule_flush(self):
        # Sends buffered text while the script awaits.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_later(STDOUT_FLUSH_INTERVAL_S, self.flush)

    def flush(self):
        if not self._buffer or self._closed:
            return
        self._window_flushes += 1
        text = "".join(self._buffer)
        self._buffer = []
        self._buffered_chars = 0
        self._sink.send_output(self._event_type, text)

    def close_run(self):
        self.flush()
        self._closed = True
        if self._dropped_chars:
            marker = f"\n[output truncated: {self._dropped_chars} characters not shown]\n"
            self._sink.send_output(self._event_type, marker)


# ---------------------------------------------------------------------------
# done() and debug()
# ---------------------------------------------------------------------------


class ScriptApi:
    """The done() and debug() functions of one run, with the run's output limits."""

    def __init__(self, sink, limits):
        self._sink = sink
        self._value_max_bytes = int(limits["valueMaxBytes"])
        self._max_events = int(limits["maxEvents"])
        self._event_count = 0
        self._dropped_warning_sent = False

    def make_done(self):
        def done(result, final=True):
            """Send ``result`` as a result of the block; ``final=False`` marks a partial result."""
            self._send_value("done", result, lambda text: f'{{"type":"sandbox:done","final":{"true" if final else "false"},"value":{text}}}')

        return done

    def make_debug(self):
        def debug(*values):
            """Add one entry with all of ``values`` to the debug log."""
            self._send_value("debug", list(values), lambda text: f'{{"type":"sandbox:debug","values":{text}}}')

        return debug

    def _send_value(self, call_name, value, build_event):
        if self._event_count >= self._max_events:
            self._warn_dropped()
            return
        self._event_count += 1

        text, non_finite = to_json_text(value, call_name)
        size_bytes = len(text.encode("utf-8"))
        if size_bytes > self._value_max_bytes:
            raise ValueTooLargeError(
                f"{call_name}() value is {size_bytes} bytes as JSON, more than the limit of "
                f"{self._value_max_bytes} bytes; send less data or split it over several calls"
            )
        if non_finite:
            self._warn_non_finite(call_name, non_finite)
        self._sink.send_text(build_event(text))

    def _warn_non_finite(self, call_name, non_finite):
        listed = ", ".join(f"{path} ({number})" for path, number in non_finite[:NON_FINITE_PATHS_LISTED])
        more = len(non_finite) - NON_FINITE_PATHS_LISTED
        if more > 0:
            listed += f" and {more} more"
        self._sink.warn(
            "non-finite-number",
            f"{call_name}(): replaced NaN or Infinity with null at {listed}, because JSON has no such numbers",
        )

    def _warn_dropped(self):
        if self._dropped_warning_sent:
            return
        self._dropped_warning_sent = True
        self._sink.warn(
            "too-many-events",
            f"the script called done() and debug() more than {self._max_events} times in total; "
            "later calls were dropped",
        )


# ---------------------------------------------------------------------------
# Hardening (stops casual misuse only: introspection can undo every step)
# ---------------------------------------------------------------------------

# Modules removed from the interpreter, with the reason given to the script.
BLOCKED_MODULES = {
    "js": "the JavaScript bridge is not available to scripts",
    "pyodide_js": "the JavaScript bridge is not available to scripts",
    "pyodide.http": "scripts have no network access",
    "pyodide.code": "running code through Pyodide's helpers is not available to scripts",
    "pyodide.ffi": "the JavaScript bridge is not available to scripts",
    "pyodide.webloop": "the JavaScript event loop is not available to scripts",
    "pyodide.console": "the interactive console is not available to scripts",
    "micropip": "installing packages at run time is not supported; the allowed packages load automatically",
    "sqlite3": "databases are not available to scripts",
    "_sqlite3": "databases are not available to scripts",
}

# Modules that libraries may use internally, but a script may not import itself.
BLOCKED_FOR_SCRIPTS = {
    "ctypes": "calling native code is not available to scripts",
    "_ctypes": "calling native code is not available to scripts",
    "_pyodide_core": "the JavaScript bridge is not available to scripts",
    "_pyodide": "the JavaScript bridge is not available to scripts",
}

PROCESS_FUNCTIONS = {
    "os": [
        "system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp", "kill", "killpg",
        "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe",
        "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe",
    ],
    "posix": ["system", "fork", "forkpty", "posix_spawn", "posix_spawnp", "execv", "execve", "kill", "killpg"],
    "subprocess": ["run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput"],
    "_posixsubprocess": ["fork_exec"],
}

NETWORK_FUNCTIONS = {
    "socket": [
        "socket", "create_connection", "create_server", "getaddrinfo", "gethostbyname",
        "gethostbyname_ex", "gethostbyaddr", "socketpair", "fromfd",
    ],
    "_socket": ["socket", "getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "socketpair"],
}

KEPT_ENVIRONMENT_VARIABLES = ("HOME", "PATH")


def _module_name_matches(name, blocked):
    """Return the entry of ``blocked`` that is ``name`` or a package containing it, or None.

    Looks up ``name`` and each parent package in turn, so the cost grows with the depth of
    the name, not with the size of ``blocked``. Every import goes through this check.
    """
    candidate = name
    while True:
        if candidate in blocked:
            return candidate
        candidate, dot, _ = candidate.rpartition(".")
        if not dot:
            return None


def _blocked_import_error(name, reason):
    return ImportError(f"import of '{name}' is not allowed in the sandbox: {reason}", name=name)


class _StubModule(types.ModuleType):
    """Placeholder for a removed module: attribute access raises PermissionError.

    Dunder lookups raise AttributeError instead, because library code probes modules
    with ``hasattr(module, '__file__')`` (``inspect.getmodule``, astropy at import) and
    only catches AttributeError.
    """

    def __init__(self, name, reason):
        super().__init__(name)
        object.__setattr__(self, "_sandbox_reason", reason)

    def __getattr__(self, attribute):
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)
        reason = object.__getattribute__(self, "_sandbox_reason")
        raise PermissionError(f"'{self.__name__}.{attribute}' is not allowed in the sandbox: {reason}")


class _BlockedModuleFinder:
    """Raise ImportError for removed modules, for every importer (libraries included)."""

    def find_spec(self, fullname, path=None, target=None):
        blocked_name = _module_name_matches(fullname, BLOCKED_MODULES)
        if blocked_name is not None:
            raise _blocked_import_error(fullname, BLOCKED_MODULES[blocked_name])
        return None


def _make_blocked_function(qualified_name, reason):
    def blocked(*args, **kwargs):
        raise PermissionError(f"{qualified_name}() is not allowed in the sandbox: {reason}")

    blocked.__name__ = qualified_name.rsplit(".", 1)[-1]
    blocked.__qualname__ = blocked.__name__
    return blocked


def _replace_functions(table, reason):
    for module_name, names in table.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in names:
            if hasattr(module, name):
                setattr(module, name, _make_blocked_function(f"{module_name}.{name}", reason))


def _remove_blocked_modules():
    for name in list(sys.modules):
        blocked_name = _module_name_matches(name, BLOCKED_MODULES)
        if blocked_name is not None:
            del sys.modules[name]
    for name, reason in BLOCKED_MODULES.items():
        stub = _StubModule(name, reason)
        sys.modules[name] = stub
        parent_name, _, child = name.rpartition(".")
        parent = sys.modules.get(parent_name) if parent_name else None
        if parent is not None:
            setattr(parent, child, stub)
    sys.meta_path.insert(0, _BlockedModuleFinder())


def _is_script_import(globals_dict):
    # Library modules always have a __name__ other than '__main__'; code exec'd by a
    # script with fresh globals has none.
    if not isinstance(globals_dict, dict):
        return True
    return globals_dict.get("__name__") in (None, "__main__")


def _guard_builtin_import():
    original_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0:
            blocked_name = _module_name_matches(name, BLOCKED_MODULES)
            reason = BLOCKED_MODULES.get(blocked_name) if blocked_name else None
            if reason is None and _is_script_import(globals):
                blocked_name = _module_name_matches(name, BLOCKED_FOR_SCRIPTS)
                reason = BLOCKED_FOR_SCRIPTS.get(blocked_name) if blocked_name else None
            if reason is not None:
                raise _blocked_import_error(name, reason)
        return original_import(name, globals, locals, fromlist, level)

    builtins.__import__ = guarded_import


def _block_reload():
    def reload(module):
        raise PermissionError("importlib.reload() is not allowed in the sandbox: it would undo the sandbox's changes")

    importlib.reload = reload


def _clear_environment():
    kept = {name: os.environ[name] for name in KEPT_ENVIRONMENT_VARIABLES if name in os.environ}
    os.environ.clear()
    os.environ.update(kept)


_hardened = False


def harden_interpreter():
    """Remove the JavaScript bridge, process, network and package-install functions from reach.

    Idempotent. Runs before the script in both modes; the process boundary around the
    interpreter is what actually contains a script that undoes these steps.
    """
    global _hardened
    if _hardened:
        return
    _hardened = True

    _remove_blocked_modules()
    _replace_functions(PROCESS_FUNCTIONS, "scripts cannot start or signal processes")
    _replace_functions(NETWORK_FUNCTIONS, "scripts have no network access")
    _clear_environment()
    _block_reload()
    _guard_builtin_import()


# ---------------------------------------------------------------------------
# Script errors
# ---------------------------------------------------------------------------

ERROR_HINTS = {
    "RecursionError": "A function calls itself too many times; check the condition that should stop the recursion.",
    "MemoryError": "The script used more memory than the sandbox allows; process the data in smaller pieces.",
    JsonConversionError.__name__: "Convert the value to dicts, lists, strings, numbers, booleans or None before passing it.",
    ValueTooLargeError.__name__: "Send a smaller value, or split the data over several done() calls.",
}


def _user_frames(stack):
    return [frame for frame in stack if frame.filename in USER_FILENAMES]


def _filter_traceback(exception_info):
    """Keep only frames in the user's code, in the exception and in its causes."""
    seen = set()
    pending = [exception_info]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.stack[:] = _user_frames(current.stack)
        pending.append(current.__cause__)
        pending.append(current.__context__)


def _exception_message(exception):
    if isinstance(exception, MemoryError):
        return "memory limit exceeded" + (f": {exception}" if str(exception) else "")
    return str(exception)


def describe_syntax_error(error):
    """Build the ScriptError of a SyntaxError raised while compiling the script or the artifacts."""
    in_script = error.filename == SCRIPT_FILENAME
    description = {
        "type": type(error).__name__,
        "message": error.msg or str(error),
        "traceback": "".join(traceback.format_exception_only(type(error), error)),
    }
    if in_script and error.lineno:
        description["line"] = error.lineno
        if error.offset:
            description["column"] = error.offset
    elif not in_script:
        description["hint"] = f"The syntax error is in the artifact code, line {error.lineno}."
    return description


def describe_exception(error):
    """Build the ScriptError of an exception raised while the script ran."""
    if isinstance(error, SyntaxError) and error.filename in USER_FILENAMES:
        return describe_syntax_error(error)

    frames = traceback.extract_tb(error.__traceback__)
    script_frames = [frame for frame in frames if frame.filename == SCRIPT_FILENAME]
    exception_info = traceback.TracebackException.from_exception(error)
    _filter_traceback(exception_info)

    description = {
        "type": type(error).__name__,
        "message": _exception_message(error),
        "traceback": "".join(exception_info.format()),
    }
    if script_frames:
        last = script_frames[-1]
        description["line"] = last.lineno
        column = getattr(last, "colno", None)
        if column is not None:
            description["column"] = column + 1
    elif any(frame.filename == PRELUDE_FILENAME for frame in frames):
        description["hint"] = "The error was raised in the artifact code, which runs before the script."

    hint = ERROR_HINTS.get(type(error).__name__)
    if hint and "hint" not in description:
        description["hint"] = hint
    return description


# ---------------------------------------------------------------------------
# Running a script
# ---------------------------------------------------------------------------


def _register_source(filename, source):
    # Lets tracebacks show the failing source line of the user's code.
    lines = [line + "\n" for line in source.splitlines()]
    linecache.cache[filename] = (len(source), None, lines, filename)


def _load_table_helper(tables):
    """Return the ``table`` helper defined by table.py beside this file, or None.

    When table.py defines ``make_table_helper(tables)``, the helper is built from the
    run's input tables; otherwise its module-level ``table`` object is used.
    """
    folder = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(folder, "table.py")
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location("sandbox_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    make_table_helper = getattr(module, "make_table_helper", None)
    if callable(make_table_helper):
        return make_table_helper(tables)
    return getattr(module, "table", None)


def _describe_table_error(error):
    return {
        "type": type(error).__name__,
        "message": f"the table helper (table.py) failed to load: {error}",
        "traceback": "".join(traceback.format_exception(error)),
        "hint": "This is a fault of the sandbox, not of the script; report it to the operator.",
    }


def _build_globals(request, api, table_helper):
    script_input = request.get("input") or {}
    module = types.ModuleType("__main__")
    namespace = module.__dict__
    namespace.update(
        {
            "__builtins__": builtins,
            "documents": script_input.get("documents", []),
            "user": script_input.get("user"),
            "artifacts": script_input.get("artifacts", []),
            "sources": script_input.get("sources", []),
            "table": table_helper,
            "done": api.make_done(),
            "debug": api.make_debug(),
        }
    )
    sys.modules["__main__"] = module
    return namespace


# Value of ast.PyCF_ALLOW_TOP_LEVEL_AWAIT. Importing ast costs about 10 ms per Docker run.
_ALLOW_TOP_LEVEL_AWAIT = 0x2000


def _compile_user_code(source, filename):
    return compile(source, filename, "exec", flags=_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


async def _execute(code, namespace):
    result = eval(code, namespace)
    if code.co_flags & 0x80 and result is not None:  # 0x80 is CO_COROUTINE
        await result


def _exit_is_success(error):
    return error.code is None or error.code == 0


async def run_request(request_json, emit, *, packages=(), package_load_ms=None, harden=True):
    """Run the script of one SandboxRunRequest, sending every event through ``emit``.

    ``packages`` lists the Python packages loaded for the run and ``package_load_ms``
    the time spent loading them; both are reported in the completion event. Returns
    when the script has ended.
    """
    sink = EventSink(emit)
    try:
        request = json.loads(request_json)
        if not isinstance(request, dict):
            raise TypeError(f"expected a JSON object, got {_type_name(request)}")
        limits = {**DEFAULT_LIMITS, **(request.get("limits") or {})}
    except (ValueError, TypeError) as error:
        sink.send({"type": "sandbox:error", "error": {"type": "InvalidRequest", "message": f"invalid run request: {error}"}})
        return

    stdout = CapturedStream(sink, "sandbox:stdout", int(limits["stdoutMaxChars"]))
    stderr = CapturedStream(sink, "sandbox:stderr", int(limits["stdoutMaxChars"]))
    sink.streams = [stdout, stderr]
    api = ScriptApi(sink, limits)
    final_event = await _run_captured(request, api, stdout, stderr, harden)

    stdout.close_run()
    stderr.close_run()
    if final_event is None:
        final_event = {"type": "sandbox:complete", "packages": list(packages)}
        if package_load_ms is not None:
            final_event["packageLoadMs"] = package_load_ms
    sink.send(final_event)


async def _run_captured(request, api, stdout, stderr, harden):
    """Run prelude and script with print captured; return the error event, or None on success."""
    script = request.get("script", "")
    prelude = request.get("prelude") or ""
    original_streams = (sys.stdout, sys.stderr)
    sys.stdout = sys.__stdout__ = stdout
    sys.stderr = sys.__stderr__ = stderr
    try:
        try:
            prelude_code = _compile_user_code(prelude, PRELUDE_FILENAME) if prelude.strip() else None
            script_code = _compile_user_code(script, SCRIPT_FILENAME)
        except SyntaxError as error:
            return {"type": "sandbox:error", "error": describe_syntax_error(error)}

        _register_source(PRELUDE_FILENAME, prelude)
        _register_source(SCRIPT_FILENAME, script)
        try:
            table_helper = _load_table_helper((request.get("input") or {}).get("tables") or {})
        except Exception as error:  # noqa: BLE001 - reported as the run's error
            return {"type": "sandbox:error", "error": _describe_table_error(error)}
        namespace = _build_globals(request, api, table_helper)
        if harden:
            harden_interpreter()

        try:
            if prelude_code is not None:
                await _execute(prelude_code, namespace)
            await _execute(script_code, namespace)
        except SystemExit as error:
            if _exit_is_success(error):
                return None
            return {"type": "sandbox:error", "error": describe_exception(error)}
        except BaseException as error:  # noqa: BLE001 - every failure of user code is reported
            return {"type": "sandbox:error", "error": describe_exception(error)}
        return None
    finally:
        sys.stdout, sys.stderr = original_streams


# ---------------------------------------------------------------------------
# Docker mode entry point
# ---------------------------------------------------------------------------


def _open_event_stream():
    """Return a writer on the real stdout, and point fd 1 at stderr.

    Native code that writes to fd 1 directly then cannot corrupt the event stream.
    """
    sys.stdout.flush()
    event_fd = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(event_fd, "w", encoding="utf-8", buffering=1)


def main():
    request_json = sys.stdin.read()
    events = _open_event_stream()

    def emit(event_text):
        events.write(event_text + "\n")

    asyncio.run(run_request(request_json, emit))
    events.flush()


if __name__ == "__main__":
    main()
