"""Figures, targets, statistics and the results table/JSON shared by every benchmark."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

Op = Literal[">=", "<=", "<", "=="]
_CHECKS = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
}


@dataclass(frozen=True, slots=True)
class Target:
    """What must hold for a figure to pass, checked on its ratio or on its value."""

    on: Literal["value", "ratio"]
    op: Op
    bound: float
    text: str

    def holds(self, value: float, ratio: float | None) -> bool:
        subject = ratio if self.on == "ratio" else value
        return (
            subject is not None and math.isfinite(subject) and _CHECKS[self.op](subject, self.bound)
        )


@dataclass(frozen=True, slots=True)
class Figure:
    """One row of the results table. A figure without a target is reported, not judged."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    target: Target | None = None
    note: str = ""
    # Set when a figure could not be measured at all (the benchmark failed).
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        if self.target is None:
            return "info"
        return "PASS" if self.target.holds(self.value, self.ratio) else "FAIL"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": _round(self.value),
            "unit": self.unit,
            "baseline": _round(self.baseline),
            "ratio": _round(self.ratio),
            "target": self.target.text if self.target else None,
            "verdict": self.verdict,
            "note": self.note,
            "error": self.error,
            **({"extra": _rounded(self.extra)} if self.extra else {}),
        }


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); nan for no samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(math.ceil(q / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_mb": _memory_mb(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(terse=True),
        "grpcio": _version("grpcio"),
        "protobuf": _version("protobuf"),
        "sqlalchemy": _version("sqlalchemy"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _round(value: float | None) -> float | None:
    # Four significant digits: precise enough to compare runs, stable enough to diff.
    if value is None or not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    if value == 0:
        return 0.0
    return round(value, 3 - math.floor(math.log10(abs(value))))


def _rounded(data: Any) -> Any:
    if isinstance(data, float):
        return _round(data)
    if isinstance(data, dict):
        return {key: _rounded(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_rounded(value) for value in data]
    return data


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 100 or value == int(value):
        text = f"{value:,.0f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".rstrip()


def table(figures: Sequence[Figure]) -> str:
    header = ("figure", "value", "baseline", "ratio", "target", "result")
    rows = [header]
    for figure in figures:
        rows.append(
            (
                figure.name,
                _fmt(figure.value, figure.unit) if not figure.error else "-",
                _fmt(figure.baseline, figure.unit),
                _fmt(figure.ratio),
                figure.target.text if figure.target else "-",
                figure.verdict,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i in (0, 4, 5) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  {f.name}: {f.error or f.note}" for f in figures if f.error or f.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Sorted keys and a trailing newline, written atomically: diffs stay small."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
