"""Generated kernels compiled once per machine, not once per process.

Numba keeps a function's machine code on disk (``cache=True``) only when the function's source
lives in a file: it files the code under that file's name and checks the file's stamp on loading.
A backend's generated kernels (an optimizer's loop around its update rule, an activation's loops
around σ and σ', the reductions' loops around their formulas) are source text run at run time, so :func:`compile_source` writes the text to a
file of the user cache, ``<cache>/kernels/<name>_<key>.py`` (``<cache>`` is
:func:`tinygrad_lab.user_cache.root`), and runs it from there.  Functions defined by it and
jitted with ``cache=True`` keep their machine code beside it (``__pycache__``, or under
``$NUMBA_CACHE_DIR``), and the next process loads that code instead of compiling.

``<key>`` is a SHA-256 of everything the machine code depends on:

* the source text;
* the values given to it by name (:func:`fingerprint`: a function by its bytecode, constants,
  defaults, closure and, recursively, every global it reads; a number by its value);
* the caller's ``salt`` (the backend's own source: its compile options and scalar forms);
* the versions of Python, NumPy, Numba and tinygrad_lab;

so a changed rule, helper, constant or library gives another file, compiled afresh: a stale kernel
is never loaded.  Files are written atomically (a temporary file renamed over the target), so two
processes filling the cache at once never read half a file, and a file whose content is not its
source (damaged outside) is rewritten before use.  Where the cache cannot be written (a read-only
home) or a value cannot be fingerprinted (a function typed at the interactive prompt, a closure
over an array), the source is compiled in memory, for this process only, as Numba does for any
function without a file.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import marshal
import os
import platform
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np

from tinygrad_lab import user_cache
from tinygrad_lab.atomic import atomic_output

__all__ = ["compile_source", "fingerprint", "kernel_dir"]

#: numbers and strings are fingerprinted by value (Numba freezes a global's value into the code)
_VALUES = (bool, int, float, complex, str, bytes, type(None), np.number, np.bool_)


_UNSAFE = re.compile(r"\W")
#: numbers the sources compiled in memory (each runs as a module of its own name)
_IN_MEMORY = itertools.count()
#: the modification time of every kernel file (2000-01-01, in ns; see ``_ensure_file``)
FILE_TIME = 946_684_800 * 10**9


def kernel_dir() -> Path:
    """The folder of the generated kernel files, ``<cache>/kernels``."""
    return user_cache.root() / "kernels"


def fingerprint(value, _seen: frozenset = frozenset()) -> str | None:
    """A string that changes whenever ``value`` would compile to other machine code, or None when
    that cannot be told (then nothing compiled from it is kept on disk).

    A function (or a Numba dispatcher, through its Python function) is its code object (bytecode,
    constants, names, defaults, closure) and, recursively, every global it reads; a number or
    string is its value; a module is its name and the SHA-256 of its file; a built-in (``math.exp``,
    a NumPy ufunc or scalar type) is its qualified name, the library's version being part of every key."""
    if isinstance(value, _VALUES):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, tuple):
        parts = [fingerprint(v, _seen) for v in value]
        return None if None in parts else "(" + ",".join(parts) + ")"
    if hasattr(value, "py_func"):                                          # a Numba dispatcher
        return fingerprint(value.py_func, _seen)
    if isinstance(value, types.FunctionType):
        return _function_fingerprint(value, _seen)
    if isinstance(value, types.ModuleType):
        path = getattr(value, "__file__", None)
        return f"module:{value.__name__}:{_file_sha256(path) if path else ''}"
    if isinstance(value, (types.BuiltinFunctionType, np.ufunc, type)):
        return f"builtin:{getattr(value, '__module__', None) or type(value).__name__}.{value.__name__}"
    return None


def _function_fingerprint(fn: types.FunctionType, seen: frozenset) -> str | None:
    if fn in seen:                                                         # recursion: named once
        return f"recursive:{fn.__qualname__}"
    seen = seen | {fn}
    code = fn.__code__
    parts = [hashlib.sha256(marshal.dumps(code)).hexdigest(), fingerprint(fn.__defaults__ or (), seen)]
    cells = tuple(cell.cell_contents for cell in fn.__closure__ or ())
    parts.append(fingerprint(cells, seen))
    for name in sorted(_global_names(code)):
        if name in fn.__globals__:
            parts.append(f"{name}={fingerprint(fn.__globals__[name], seen)}")
    return None if any(p is None or p.endswith("=None") for p in parts) else "fn[" + ";".join(parts) + "]"


def _global_names(code: types.CodeType) -> set[str]:
    """The names ``code`` and the code objects nested in it (comprehensions, lambdas) look up."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


@functools.lru_cache(maxsize=None)
def _file_sha256(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def compile_source(name: str, source: str, values: dict, salt: str) -> tuple[dict[str, Callable], bool]:
    """Run ``source`` (Python defining kernel functions) with ``values`` as its globals; return
    ({function name: function} for the functions it defines, on_disk).

    With ``on_disk`` true the functions' code lives in a file of the kernel cache, named by the key
    of everything they depend on (module docstring), so the caller may jit them with Numba's
    ``cache=True``; otherwise they were compiled from memory (``values`` not fingerprintable, or
    the cache not writable) and must be jitted without it."""
    parts = [fingerprint(v) for v in values.values()]
    if None in parts:
        return _run(source, values, f"<generated {name} {next(_IN_MEMORY)}>"), False
    key = hashlib.sha256("\n".join([
        source, salt, *(f"{k}={p}" for k, p in zip(values, parts)),
        f"python {platform.python_version()} {sys.implementation.cache_tag}", f"numpy {np.__version__}",
        f"numba {numba.__version__}", f"tinygrad_lab {getattr(sys.modules.get('tinygrad_lab'), '__version__', '')}",
    ]).encode()).hexdigest()[:40]
    path = kernel_dir() / f"{_UNSAFE.sub('_', name)}_{key}.py"
    text = f"# generated by tinygrad_lab.backend.kernel_cache: {name}, key {key}\n{source}"
    try:
        _ensure_file(path, text)
    except OSError:
        return _run(source, values, f"<generated {name} {next(_IN_MEMORY)}>"), False
    return _run(text, values, str(path)), True


def _ensure_file(path: Path, text: str) -> None:
    """``path`` holds exactly ``text`` afterwards: written atomically unless it already does.

    Its modification time is set to ``FILE_TIME``: Numba checks a cached function's file by its
    time and size, and the name fixes the content, so two processes writing the same file at once
    (or one repairing a damaged file) leave the stamp Numba filed its machine code under."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if path.read_text(encoding="utf-8") == text:
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as out:
        out.write(text.encode("utf-8"))
        out.flush()
        os.utime(out.name, ns=(FILE_TIME, FILE_TIME))


def _run(text: str, values: dict, filename: str) -> dict[str, Callable]:
    """Execute ``text`` as the body of a module registered in ``sys.modules`` (Numba, loading cached
    code, finds the globals of its functions by importing their module's name)."""
    module = types.ModuleType(f"_tinygrad_lab_kernel_{_UNSAFE.sub('_', Path(filename).stem)}")
    module.__dict__.update(values)
    exec(compile(text, filename, "exec"), module.__dict__)
    sys.modules[module.__name__] = module
    return {k: v for k, v in vars(module).items()
            if isinstance(v, types.FunctionType) and v.__code__.co_filename == filename}
