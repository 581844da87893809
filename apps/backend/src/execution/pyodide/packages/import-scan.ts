/**
 * Finds the modules a script imports, with the line of each import, inside a loaded
 * Pyodide interpreter.
 *
 * Static imports come from `pyodide.code.find_imports`, Pyodide's own parser of
 * import statements. A Python helper adds the line numbers and the string literals passed
 * to `importlib.import_module()` and `__import__()`. Call it before runtime.py hardens the
 * interpreter, because the hardening removes `pyodide.code`.
 */
import type { PyodideInterface } from 'pyodide';

export interface ImportedModule {
  /** Top-level module name (`numpy` for `import numpy.linalg`). */
  module: string;
  /** 1-based line of its first unguarded import, or of its first import when all are guarded. */
  line: number;
  /** `importlib.import_module('x')` or `__import__('x')` rather than an import statement. */
  dynamic: boolean;
  /** In `sys.stdlib_module_names`. */
  standardLibrary: boolean;
  /** Importable before any package is loaded (built into the interpreter). */
  builtIn: boolean;
  /** Every import of it sits in a `try` block that catches ImportError, so the script copes without it. */
  optional: boolean;
}

// Runs in a fresh globals dictionary, so nothing of it stays visible to the script.
const SCANNER_SOURCE = `
import ast
import importlib.util
import json
import sys

_IMPORT_FUNCTIONS = {"import_module", "__import__"}
_IMPORT_ERROR_HANDLERS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def _catches_import_error(handler):
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for caught in types:
        name = caught.id if isinstance(caught, ast.Name) else getattr(caught, "attr", None)
        if name in _IMPORT_ERROR_HANDLERS:
            return True
    return False


def _guarded_nodes(tree):
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Try, ast.TryStar)) and any(_catches_import_error(h) for h in node.handlers):
            for statement in node.body:
                guarded.update(id(inner) for inner in ast.walk(statement))
    return guarded


def _record(found, top, line, guarded):
    # Keeps the first line, preferring an unguarded import, which is the one that fails.
    if top not in found:
        found[top] = (line, guarded)
        return
    previous_line, previous_guarded = found[top]
    if previous_guarded and not guarded:
        found[top] = (line, False)
    elif previous_guarded == guarded:
        found[top] = (min(previous_line, line), guarded)


def _literal_import(call):
    function = call.func
    if isinstance(function, ast.Name):
        name = function.id
    elif isinstance(function, ast.Attribute):
        name = function.attr
    else:
        return None
    if name not in _IMPORT_FUNCTIONS or not call.args:
        return None
    argument = call.args[0]
    if not isinstance(argument, ast.Constant) or not isinstance(argument.value, str):
        return None
    if argument.value.startswith(".") or not argument.value:
        return None
    return argument.value


def _statement_imports(tree, guarded):
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            _record(found, name.split(".")[0], node.lineno, id(node) in guarded)
    return found


def _dynamic_imports(tree, guarded):
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _literal_import(node)
            if name is not None:
                _record(found, name.split(".")[0], node.lineno, id(node) in guarded)
    return found


def _is_built_in(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def scan(source, static_names):
    try:
        tree = compile(source, "<script>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except (SyntaxError, ValueError):
        # The runtime reports the syntax error with its line when it compiles the script.
        return "[]"
    guarded = _guarded_nodes(tree)
    statements = _statement_imports(tree, guarded)
    found = {}
    for name in static_names:
        top = name.split(".")[0]
        line, optional = statements.get(top, (1, False))
        found[top] = (line, False, optional)
    for top, (line, optional) in _dynamic_imports(tree, guarded).items():
        if top not in found:
            found[top] = (line, True, optional)
    records = [
        {
            "module": top,
            "line": line,
            "dynamic": dynamic,
            "standardLibrary": top in sys.stdlib_module_names,
            "builtIn": _is_built_in(top),
            "optional": optional,
        }
        for top, (line, dynamic, optional) in found.items()
    ]
    records.sort(key=lambda record: (record["line"], record["module"]))
    return json.dumps(records)
`;

/** Lists the modules `source` imports, ordered by line; an empty list when it does not parse. */
export function scanImports(pyodide: PyodideInterface, source: string): ImportedModule[] {
  if (source.trim() === '') {
    return [];
  }
  const codeModule = pyodide.pyimport('pyodide.code');
  const staticNames = codeModule.find_imports(source);
  const namespace = pyodide.toPy({});
  try {
    pyodide.runPython(SCANNER_SOURCE, { globals: namespace });
    const scan = namespace.get('scan');
    try {
      return JSON.parse(scan(source, staticNames) as string) as ImportedModule[];
    } finally {
      scan.destroy();
    }
  } finally {
    staticNames.destroy();
    codeModule.destroy();
    namespace.destroy();
  }
}
