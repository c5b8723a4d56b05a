"""Small helpers shared by the benchmarks: machine description, timing, peak memory, tables."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Where benchmark results (Markdown, JSON, PNG) are written.
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> str:
    """One line describing this machine, for every recorded number."""
    memory = ""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            kib = int(handle.readline().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    cpu = _cpu_model()
    return (
        f"{os.cpu_count()} cores{f' ({cpu})' if cpu else ''}{memory}, "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def load_average() -> float:
    """The 1-minute load average (the machine is shared: more than the cores means contention)."""
    try:
        return round(os.getloadavg()[0], 1)
    except OSError:
        return -1.0


def command_line() -> str:
    """The command that is running, as a user would type it."""
    args = " ".join(sys.argv[1:])
    script = Path(sys.argv[0])
    if script.parent.name != "benchmarks":
        return args
    module = "benchmarks" if script.stem == "__main__" else f"benchmarks.{script.stem}"
    return f"python -m {module} {args}".strip()


@dataclass
class Stopwatch:
    """Accumulates wall-clock seconds of named phases."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def timed(function: Callable[[], T]) -> tuple[T, float]:
    """Call ``function`` and return its result and wall-clock seconds."""
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def _status_kib(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux ``clear_refs`` 5); False when unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def rss_mib() -> float:
    """Current resident memory of this process in MiB (0 when unknown)."""
    try:
        return _status_kib("VmRSS") / 1024.0
    except OSError:
        return 0.0


def peak_rss_mib() -> float:
    """Peak resident memory of this process since start or the last reset, in MiB."""
    try:
        return _status_kib("VmHWM") / 1024.0
    except OSError:
        return 0.0


def fmt(value: Any, digits: int = 4) -> str:
    """Format a table cell: floats with ``digits`` decimals, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table; numbers right-aligned."""
    lines = ["| " + " | ".join(header) + " |"]
    aligns = []
    for column in range(len(header)):
        numeric = rows and all(
            isinstance(row[column], int | float) or row[column] is None for row in rows
        )
        aligns.append("---:" if numeric else "---")
    lines.append("|" + "|".join(aligns) + "|")
    for row in rows:
        lines.append("| " + " | ".join(fmt(cell) for cell in row) + " |")
    return "\n".join(lines)


def ratio(value: float | None, reference: float | None) -> float | None:
    """``value / reference``, or None when either is missing or the reference is zero."""
    if value is None or reference is None or reference == 0:
        return None
    return value / reference
