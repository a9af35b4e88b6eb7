"""What a diagram's expressions and scripts may do: conditions, timer values, scripts and multi-instance
expressions are Python run by the engine, written by whoever deploys a diagram. They may read case data,
compare, compute and call a short list of helpers; they may not import, reach Python's internals through
`_`-names or attributes, or call anything outside the list. The check reads the code's syntax tree before
it runs (at deploy, to name the element; again at run time, cached per text).

Cheap amplification (`9**9**9`, `'a' * 10**10`, `'%999999999d' % 1`, doubling with `+`) is refused with a
clear reason while the code runs: `+`, `*`, `**`, `<<` and `%` are rewritten to calls that refuse results
beyond a size limit, and `range` is bounded. These bounds give clear messages; the hard bounds of memory and
CPU are those of the sandbox process the code runs in (engine.diagrams.expression_sandbox).

Pure Python: no SpiffWorkflow import (the engine's script environment in engine/spiff uses it)."""
from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from engine.errors import N_, StatedRule

Mode = Literal["eval", "exec"]

MAX_EXPRESSION_CHARS = 2_000
MAX_SCRIPT_CHARS = 20_000
MAX_RESULT_ITEMS = 1_000_000  # characters / items a `*` or `%` may produce
MAX_RESULT_BITS = 100_000  # size of an integer `*`, `**`, `<<` may produce (about 30,000 digits)
MAX_RANGE = 100_000


class ExpressionRejected(ValueError):
    """An expression or script that diagrams may not run; `reason` completes "the condition …" in English,
    `rule` states it as a translatable template with its parameters (engine.errors.StatedRule)."""

    def __init__(self, template: str, unreadable: bool = False, rank: int = 0, **params: Any) -> None:
        self.rule = StatedRule(template, **params)
        self.reason = self.rule.english()
        self.unreadable = unreadable  # not Python at all (e.g. a mistyped ISO timer value): harmless
        self.rank = rank  # several problems: the most telling one is reported (an import before a method)
        super().__init__(self.reason)


class ExpressionLimitExceeded(ArithmeticError):
    """A bounded operation would have produced a result too large to compute."""


# --- what may be called ---------------------------------------------------------------------------------
def _bounded_range(*args: int) -> range:
    """`range` that refuses more than MAX_RANGE items (a loop over 10**12 would never end)."""
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise ExpressionLimitExceeded(f"range of {len(result)} items is more than {MAX_RANGE}")
    return result


# Harmless builtins: values and conversions, nothing that reaches objects' internals or the system.
SAFE_BUILTINS: dict[str, Any] = {
    "len": len, "min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float, "str": str,
    "bool": bool, "sum": sum, "any": any, "all": all, "sorted": sorted, "list": list, "dict": dict,
    "set": set, "tuple": tuple, "range": _bounded_range, "enumerate": enumerate, "zip": zip,
    "isinstance": isinstance, "reversed": reversed,
    # Date and time values (e.g. `due - timedelta(days=3)`); `now()`/`today()` come from the engine's clock.
    "date": date, "datetime": datetime, "timedelta": timedelta,
}
ENGINE_FUNCTIONS = ("working_days", "working_hours", "now", "today")
ALLOWED_FUNCTIONS = frozenset(SAFE_BUILTINS) | frozenset(ENGINE_FUNCTIONS)

# Methods and attributes of the values expressions handle (text, numbers, lists, dicts, dates). A
# whitelist: attributes outside it (a generator's `gi_frame`, a frame's `f_globals`…) lead to internals.
_VALUE_TYPES = (str, int, float, bool, list, dict, set, tuple, date, datetime, timedelta)
_REFUSED_ATTRIBUTES = {
    "format", "format_map",  # format strings reach attributes: "{0.__class__}".format(x)
    "mro", "center", "ljust", "rjust", "zfill", "expandtabs",  # internals; sizes taken from the caller
}
ALLOWED_ATTRIBUTES = frozenset(
    name for value_type in _VALUE_TYPES for name in dir(value_type)
    if not name.startswith("_") and name not in _REFUSED_ATTRIBUTES)

# --- what may be written -------------------------------------------------------------------------------
_EXPRESSION_NODES: tuple[type, ...] = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Store, ast.Del, ast.Attribute, ast.Subscript,
    ast.Slice, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Not, ast.Invert, ast.UAdd, ast.USub,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift, ast.BitOr,
    ast.BitAnd, ast.BitXor, ast.MatMult, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.Is, ast.IsNot, ast.In, ast.NotIn, ast.IfExp, ast.Call, ast.keyword, ast.Starred, ast.List, ast.Tuple,
    ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
    ast.JoinedStr, ast.FormattedValue, ast.NamedExpr,
)
_SCRIPT_NODES: tuple[type, ...] = _EXPRESSION_NODES + (
    ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.If, ast.For, ast.Pass, ast.Break,
    ast.Continue, ast.Delete,
)
_CONSTRUCT_NAMES = {
    ast.Import: "import", ast.ImportFrom: "import", ast.Lambda: "lambda", ast.FunctionDef: "def",
    ast.AsyncFunctionDef: "def", ast.ClassDef: "class", ast.Global: "global", ast.Nonlocal: "nonlocal",
    ast.Yield: "yield", ast.YieldFrom: "yield", ast.Await: "await", ast.With: "with", ast.AsyncWith: "with",
    ast.Try: "try", ast.Raise: "raise", ast.While: "while", ast.Return: "return", ast.Assert: "assert",
    ast.AsyncFor: "async for",
}
_AMPLIFYING = (ast.Mult, ast.Pow, ast.LShift, ast.Mod)
_WIDE_FORMAT = re.compile(r"\d{4,}")


def check(text: str, mode: Mode = "eval") -> ast.AST:
    """The parsed code if diagrams may run it; raises ExpressionRejected with the reason otherwise."""
    if not isinstance(text, str):
        raise ExpressionRejected(N_("is not text"))
    limit = MAX_EXPRESSION_CHARS if mode == "eval" else MAX_SCRIPT_CHARS
    if len(text) > limit:
        raise ExpressionRejected(N_("is longer than %(limit)d characters"), limit=limit)
    try:
        tree = ast.parse(text.strip() if mode == "eval" else text, mode=mode)
    except SyntaxError as err:
        template = N_("'%(text)s' is not a valid expression: %(error)s") if mode == "eval" \
            else N_("'%(text)s' is not a valid script: %(error)s")
        raise ExpressionRejected(template, unreadable=True, text=_short(text), error=err.msg) from None
    except (ValueError, RecursionError, MemoryError):  # null bytes, absurd nesting
        raise ExpressionRejected(N_("cannot be read as Python"), unreadable=True) from None
    allowed = _EXPRESSION_NODES if mode == "eval" else _SCRIPT_NODES
    problems = []
    for node in ast.walk(tree):
        try:
            _check_node(node, allowed)
        except ExpressionRejected as problem:
            where = tuple(getattr(node, key, 0) or 0 for key in ("lineno", "col_offset", "end_lineno", "end_col_offset"))
            problems.append((problem.rank, where, problem))
    if problems:  # the most telling problem, the first in the text among equals
        raise min(problems, key=lambda entry: entry[:2])[2]
    return tree


def _check_node(node: ast.AST, allowed: tuple[type, ...]) -> None:
    if type(node) in _CONSTRUCT_NAMES:
        raise ExpressionRejected(N_("uses %(construct)s, which diagrams may not use"),
                                 construct=_CONSTRUCT_NAMES[type(node)])
    if not isinstance(node, allowed):
        raise ExpressionRejected(N_("uses %(construct)s, which diagrams may not use"), rank=4,
                                 construct=type(node).__name__)
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ExpressionRejected(N_("uses %(name)s, which diagrams may not use (no names starting with _)"), rank=1,
                                 name=node.id)
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            raise ExpressionRejected(N_("uses the attribute %(name)s, which diagrams may not use (no names "
                                        "starting with _)"), rank=1, name=node.attr)
        if node.attr not in ALLOWED_ATTRIBUTES:
            raise ExpressionRejected(N_("uses the attribute %(name)s, which diagrams may not use (only methods of "
                                        "text, numbers, lists, dicts and dates)"), rank=3, name=node.attr)
    if isinstance(node, ast.keyword) and node.arg is not None and node.arg.startswith("_"):
        raise ExpressionRejected(N_("uses the argument %(name)s, which diagrams may not use"), rank=1,
                                 name=node.arg)
    if isinstance(node, ast.Call):
        _check_call(node.func)
    if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        spec = node.format_spec
        if not all(isinstance(v, ast.Constant) for v in getattr(spec, "values", [])) \
                or _WIDE_FORMAT.search("".join(str(v.value) for v in spec.values)):
            raise ExpressionRejected(N_("uses an f-string format that is computed or wider than 999 characters, "
                                        "which diagrams may not use"), rank=4)
    if isinstance(node, ast.AugAssign) and isinstance(node.op, _AMPLIFYING):
        raise ExpressionRejected(N_("uses %(operators)s, which diagrams may not use (write x = x * y)"),
                                 rank=4, operators="*=, **=, <<= or %=")


def _check_call(func: ast.AST) -> None:
    if isinstance(func, ast.Name):
        if func.id.startswith("_"):
            raise ExpressionRejected(N_("uses %(name)s, which diagrams may not call"), rank=1, name=func.id)
        if func.id not in ALLOWED_FUNCTIONS:
            raise ExpressionRejected(N_("calls %(name)s, which diagrams may not call (allowed: %(allowed)s and "
                                        "methods of values)"), rank=2, name=func.id,
                                     allowed=", ".join(sorted(ALLOWED_FUNCTIONS)))
    elif not isinstance(func, ast.Attribute):  # `[f][0]()`, `(lambda: 1)()`, `x()()`
        raise ExpressionRejected(N_("calls something that is not a named function, which diagrams may not do"),
                                 rank=2)


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 80 else flat[:77] + "..."


# --- running under limits -------------------------------------------------------------------------------
def _add(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple) \
            and len(left) + len(right) > MAX_RESULT_ITEMS:
        raise ExpressionLimitExceeded(f"joining values of {len(left)} and {len(right)} items is too large")
    return left + right


def _multiply(left: Any, right: Any) -> Any:
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, str | bytes | list | tuple) and isinstance(count, int) \
                and len(seq) * max(count, 0) > MAX_RESULT_ITEMS:
            raise ExpressionLimitExceeded(f"a repetition of {count} times is too large")
    if isinstance(left, int) and isinstance(right, int) \
            and left.bit_length() + right.bit_length() > MAX_RESULT_BITS:
        raise ExpressionLimitExceeded("the product is too large")
    return left * right


def _power(base: Any, exponent: Any) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 \
            and exponent * math.log2(abs(base)) > MAX_RESULT_BITS:
        raise ExpressionLimitExceeded(f"{base} ** {exponent} is too large")
    return base ** exponent


def _shift(value: Any, bits: Any) -> Any:
    if isinstance(value, int) and isinstance(bits, int) and value.bit_length() + bits > MAX_RESULT_BITS:
        raise ExpressionLimitExceeded(f"a shift by {bits} bits is too large")
    return value << bits


def _modulo(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes):  # printf-style widths: '%999999999d' % 1
        raise ExpressionLimitExceeded("'%' formatting of text is not available; use an f-string")
    return left % right


_LIMITED_OPERATIONS: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("_policy_add", _add), ast.Mult: ("_policy_multiply", _multiply), ast.Pow: ("_policy_power", _power),
    ast.LShift: ("_policy_shift", _shift), ast.Mod: ("_policy_modulo", _modulo),
}


class _LimitOperations(ast.NodeTransformer):
    """`a * b` becomes `_policy_multiply(a, b)` (and so on); user code cannot name these helpers."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        limited = _LIMITED_OPERATIONS.get(type(node.op))
        if limited is None:
            return node
        call = ast.Call(func=ast.Name(id=limited[0], ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        """`total += x` becomes `total = _policy_add(total, x)` (a counter stays easy to write)."""
        self.generic_visit(node)
        if not isinstance(node.op, ast.Add) or not isinstance(node.target, ast.Name):
            return node  # other targets: bounded by the sandbox's memory
        value = ast.Call(func=ast.Name(id="_policy_add", ctx=ast.Load()),
                         args=[ast.Name(id=node.target.id, ctx=ast.Load()), node.value], keywords=[])
        assign = ast.Assign(targets=[ast.Name(id=node.target.id, ctx=ast.Store())], value=value)
        return ast.copy_location(assign, node)


def limited_builtins(engine_functions: dict[str, Callable[..., Any]] | None = None) -> dict[str, Any]:
    """The `__builtins__` code from diagrams runs with: the whitelist, the engine's helpers (now, today…)
    and the size-limited operations."""
    return {**SAFE_BUILTINS, **(engine_functions or {}),
            **{name: function for name, function in _LIMITED_OPERATIONS.values()}}


@lru_cache(maxsize=2048)
def compile_checked(text: str, mode: Mode = "eval") -> Any:
    """Code object for `text` once the policy allows it, with the amplifying operations bounded;
    cached per text (a diagram's expressions are evaluated again and again). Raises ExpressionRejected."""
    tree = _LimitOperations().visit(check(text, mode))
    ast.fix_missing_locations(tree)
    return compile(tree, "<diagram>", mode)
