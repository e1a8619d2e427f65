"""PaddleFlow's step condition: a govaluate expression such as `10 > 0 && abc != xyz`.

PaddleFlow (pkg/pipeline/conditionCalculator.go) fills in the `{{...}}` templates, parses
the text with govaluate, turns every variable token into a string (so that `abc != xyz`
compares two words), evaluates it without parameters and requires a bool. This module
reads the same language, pure and bounded:

    expression := or
    or         := and ("||" and)*
    and        := compare ("&&" compare)*
    compare    := sum (("==" | "!=" | ">" | ">=" | "<" | "<=") sum)?
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "%") unary)*
    unary      := ("!" | "-") unary | atom
    atom       := number | 'string' | "string" | true | false | word | "(" expression ")"

Types follow govaluate: `==`/`!=` compare values of any type (10 == '10' is false);
ordering needs two numbers or two strings; `&&`, `||`, `!` need bools; arithmetic needs
numbers, except `+` of two strings, which joins them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_EXPRESSION_LENGTH = 4096
MAX_NESTING = 64

Value = bool | float | str


class ExpressionError(ValueError):
    """The text is no expression, or its values do not fit its operators."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<op>&&|\|\||==|!=|>=|<=|[-+*/%<>!()])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # number, string, op, word
    text: str


def tokens(text: str) -> list[_Token]:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"longer than {MAX_EXPRESSION_LENGTH} characters")
    found: list[_Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"unexpected {text[position:].strip()[:20]!r}")
        kind = match.lastgroup
        assert kind is not None
        found.append(_Token(kind, match.group(kind)))
        position = match.end()
    return found


def evaluate(text: str) -> bool:
    """The expression's value; ExpressionError if it cannot be read or is not a bool."""
    parser = _Parser(tokens(text))
    if not parser.tokens:
        raise ExpressionError("empty expression")
    value = parser.expression(0)
    if parser.position != len(parser.tokens):
        raise ExpressionError(f"unexpected {parser.tokens[parser.position].text!r}")
    if not isinstance(value, bool):
        raise ExpressionError(f"the result {_show(value)} is not true or false")
    return value


def check(text: str) -> None:
    """ExpressionError if `text` is no expression; values are not looked at (PaddleFlow's
    checkCondition parses the text with the templates' braces removed)."""
    parser = _Parser(tokens(text), evaluate=False)
    if not parser.tokens:
        raise ExpressionError("empty expression")
    parser.expression(0)
    if parser.position != len(parser.tokens):
        raise ExpressionError(f"unexpected {parser.tokens[parser.position].text!r}")


_ORDER: Mapping[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_ARITHMETIC: Mapping[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}


class _Parser:
    def __init__(self, found: list[_Token], *, evaluate: bool = True) -> None:
        self.tokens = found
        self.position = 0
        self.evaluate = evaluate

    def peek(self) -> str | None:
        if self.position < len(self.tokens) and self.tokens[self.position].kind == "op":
            return self.tokens[self.position].text
        return None

    def take(self) -> _Token:
        if self.position >= len(self.tokens):
            raise ExpressionError("the expression ends too early")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expression(self, depth: int) -> Value:
        if depth > MAX_NESTING:
            raise ExpressionError(f"nested more than {MAX_NESTING} levels")
        left = self.conjunction(depth)
        while self.peek() == "||":
            self.take()
            right = self.conjunction(depth)
            left = self.logic("||", left, right)
        return left

    def conjunction(self, depth: int) -> Value:
        left = self.comparison(depth)
        while self.peek() == "&&":
            self.take()
            right = self.comparison(depth)
            left = self.logic("&&", left, right)
        return left

    def comparison(self, depth: int) -> Value:
        left = self.sum(depth)
        op = self.peek()
        if op in ("==", "!=") or op in _ORDER:
            self.take()
            right = self.sum(depth)
            if not self.evaluate:
                return True
            if op == "==":
                return _same(left, right)
            if op == "!=":
                return not _same(left, right)
            assert op is not None
            if (_numeric(left) and _numeric(right)) or (_text(left) and _text(right)):
                return _ORDER[op](left, right)
            raise ExpressionError(f"cannot order {_show(left)} and {_show(right)}")
        return left

    def sum(self, depth: int) -> Value:
        left = self.product(depth)
        while (op := self.peek()) in ("+", "-"):
            self.take()
            left = self.arithmetic(op, left, self.product(depth))
        return left

    def product(self, depth: int) -> Value:
        left = self.unary(depth)
        while (op := self.peek()) in ("*", "/", "%"):
            self.take()
            left = self.arithmetic(op, left, self.unary(depth))
        return left

    def unary(self, depth: int) -> Value:
        op = self.peek()
        if op in ("!", "-"):
            self.take()
            value = self.unary(depth + 1)
            if not self.evaluate:
                return value
            if op == "!" and isinstance(value, bool):
                return not value
            if op == "-" and _numeric(value):
                return -float(value)
            raise ExpressionError(f"{op} does not apply to {_show(value)}")
        return self.atom(depth)

    def atom(self, depth: int) -> Value:
        token = self.take()
        if token.kind == "number":
            return float(token.text)
        if token.kind == "string":
            return token.text[1:-1]
        if token.kind == "word":
            # true/false are govaluate's booleans; any other word was a variable,
            # which PaddleFlow turns into a string.
            return {"true": True, "false": False}.get(token.text, token.text)
        if token.text == "(":
            value = self.expression(depth + 1)
            if self.take().text != ")":
                raise ExpressionError("a '(' is not closed")
            return value
        raise ExpressionError(f"unexpected {token.text!r}")

    def logic(self, op: str, left: Value, right: Value) -> Value:
        if not self.evaluate:
            return True
        if not isinstance(left, bool) or not isinstance(right, bool):
            raise ExpressionError(f"{op} needs true or false, got {_show(left)} and {_show(right)}")
        return (left and right) if op == "&&" else (left or right)

    def arithmetic(self, op: str, left: Value, right: Value) -> Value:
        if not self.evaluate:
            return left
        if op == "+" and _text(left) and _text(right):
            return f"{left}{right}"
        if not (_numeric(left) and _numeric(right)):
            raise ExpressionError(f"{op} needs numbers, got {_show(left)} and {_show(right)}")
        if op in ("/", "%") and right == 0:
            raise ExpressionError(f"{op} by zero")
        return _ARITHMETIC[op](float(left), float(right))


def _numeric(value: Value) -> bool:
    return isinstance(value, float)


def _text(value: Value) -> bool:
    return isinstance(value, str)


def _same(left: Value, right: Value) -> bool:
    return type(left) is type(right) and left == right


def _show(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)
