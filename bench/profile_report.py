"""Summarise a cProfile dump: top functions and time by package.

Only the profiled (main) process is in the dump (see profile_run.py for the
clock); extraction runs in separate worker processes and is not in it.
"""

from __future__ import annotations

import pstats
import sysconfig
from collections import defaultdict
from pathlib import Path

_STDLIB = sysconfig.get_paths()["stdlib"]
_FIRST_PARTY = ("crawler", "storage", "normalizer", "jobs", "warcwire")


def _package(filename: str, funcname: str) -> str:
    """A coarse owner for a profiled function: a package, 'stdlib:<module>' or a C builtin."""
    if filename == "~":  # C functions: "<method 'compress' of 'zlib.Compress' objects>"
        if " of '" in funcname:
            owner = funcname.split(" of '", 1)[1].split("'", 1)[0]
            return "C:" + owner.split(".", 1)[0]
        return "C:" + funcname.strip("<>{}").split()[-1].split(".")[0]
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    if filename.startswith(_STDLIB):
        rel = Path(filename).relative_to(_STDLIB).parts
        return "stdlib:" + rel[0].removesuffix(".py")
    for name in _FIRST_PARTY:
        if name in parts:
            return name
    return path.name


def _label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    parts = Path(filename).parts
    short = "/".join(parts[-2:])
    return f"{short}:{line}({name})"


def top_functions(prof: Path, sort: str, limit: int = 15) -> list[dict[str, object]]:
    stats = pstats.Stats(str(prof))
    rows = []
    for func, (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": _label(func), "calls": ncalls,
                     "tottime_s": round(tottime, 3), "cumtime_s": round(cumtime, 3)})
    key = "cumtime_s" if sort == "cumulative" else "tottime_s"
    rows.sort(key=lambda r: r[key], reverse=True)  # type: ignore[arg-type, return-value]
    return rows[:limit]


def by_package(prof: Path, limit: int = 12) -> tuple[float, list[tuple[str, float]]]:
    """Total profiled self-time and its split by owning package, largest first."""
    stats = pstats.Stats(str(prof))
    totals: dict[str, float] = defaultdict(float)
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in \
            stats.stats.items():  # type: ignore[attr-defined]
        totals[_package(filename, name)] += tottime
    total = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)[:limit]
    return total, ranked


def format_report(prof: Path, title: str, limit: int = 15) -> str:
    lines = [f"== {title}: cProfile of the main process ({prof.name}) =="]
    total, ranked = by_package(prof)
    lines.append(f"self time by package ({total:.1f}s profiled in the main thread, "
                 "profiler overhead included):")
    lines += [f"  {name:<28} {secs:7.2f}s  {100 * secs / total:5.1f}%" for name, secs in ranked]
    for sort in ("tottime", "cumulative"):
        lines.append(f"top {limit} by {sort}:")
        lines.append(f"  {'tottime':>8} {'cumtime':>8} {'calls':>9}  function")
        for r in top_functions(prof, sort, limit):
            lines.append(f"  {r['tottime_s']:8.2f} {r['cumtime_s']:8.2f} {r['calls']:9}  "
                         f"{r['function']}")
    return "\n".join(lines)
