"""Run a module under cProfile, on the wall clock or the process's CPU clock.

    python bench/profile_run.py OUT.prof [--cpu] -m MODULE ARGS...

The wall clock (what ``python -m cProfile`` uses) is cheap and right when the
process has a core to itself. When extraction workers compete with the crawl
process for 2 cores, whatever is running when it is preempted looks slow;
``--cpu`` times with ``time.process_time`` instead, which charges only CPU the
process used, at the price of a system call per event (runs ~4x slower, and
functions called very often look heavier than they are).
"""

from __future__ import annotations

import cProfile
import runpy
import sys
import time


def main() -> int:
    argv = sys.argv[1:]
    cpu = "--cpu" in argv[1:2]
    if cpu:
        del argv[1]
    if len(argv) < 3 or argv[1] != "-m":
        print(__doc__, file=sys.stderr)
        return 2
    out, module, args = argv[0], argv[2], argv[3:]
    sys.argv = [module, *args]
    profiler = cProfile.Profile(time.process_time) if cpu else cProfile.Profile()
    code = 0
    profiler.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        profiler.disable()
        profiler.dump_stats(out)
    return code


if __name__ == "__main__":
    sys.exit(main())
