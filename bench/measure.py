"""Run one command and measure it: wall time, CPU of the whole process tree, peak RSS.

A process pool's workers are forked by a forkserver, and the forkserver is
never waited for by the crawl, so its CPU would vanish from a plain
``getrusage(RUSAGE_CHILDREN)``. This wrapper makes itself a child subreaper
(Linux), so every orphaned descendant is re-parented to it and reaped here;
its RUSAGE_CHILDREN then covers the whole tree.

    python bench/measure.py --json-out m.json --timeout 900 -- CMD ARGS...
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

_PR_SET_CHILD_SUBREAPER = 36


def _set_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _hwm_kb(pid: int) -> int:
    """Peak resident set size of one live process (VmHWM), in KiB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_kb() -> int:
    """Current RSS summed over all our descendants (KiB), from /proc.

    Our descendants, not only the command's: orphans are re-parented to us.
    """
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(name)] = int(fields[1])
        rss[int(name)] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    me = os.getpid()
    tree, frontier = set(), [me]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in tree)


def _kill_leftovers() -> None:
    """Kill descendants still alive after the grace period; we reap them next."""
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except OSError:
            continue
        if ppid == me:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(name), signal.SIGKILL)


def _reap_all(grace: float) -> int:
    """Wait for every remaining descendant; returns how many had to be killed."""
    deadline = time.monotonic() + grace
    killed = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return killed
        if pid:
            continue
        if time.monotonic() > deadline and not killed:
            _kill_leftovers()
            killed = 1
        time.sleep(0.05)


def measure(cmd: list[str], timeout: float, stdout: Path, stderr: Path,
            sample_every: float = 0.5) -> dict[str, object]:
    subreaper = _set_subreaper()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    main_hwm = tree_peak = 0
    timed_out = False
    t0 = time.monotonic()
    next_sample = t0
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        while True:
            # wait4 on the command alone gives its own CPU apart from the tree's.
            pid, status, own = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            now = time.monotonic()
            if now >= next_sample:
                main_hwm = max(main_hwm, _hwm_kb(proc.pid))
                tree_peak = max(tree_peak, _tree_rss_kb())
                next_sample = now + sample_every
            if now - t0 > timeout and not timed_out:
                timed_out = True
                proc.kill()
            time.sleep(0.01)  # exit is noticed within 10 ms, so wall time stays exact
    wall = time.monotonic() - t0
    killed = _reap_all(grace=20.0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cmd": cmd,
        "returncode": proc.returncode,
        "timed_out": timed_out,
        "wall_s": wall,
        "cpu_user_s": after.ru_utime - before.ru_utime,
        "cpu_sys_s": after.ru_stime - before.ru_stime,
        # the command's process itself (plus any children it reaped itself)
        "main_cpu_s": own.ru_utime + own.ru_stime,
        # ru_maxrss of children: the largest single process of the tree (KiB on Linux)
        "max_process_rss_kb": after.ru_maxrss,
        # peak RSS of the command's process, exact (from wait4), and as sampled from /proc
        "main_peak_rss_kb": own.ru_maxrss,
        "main_process_hwm_kb": main_hwm,
        "tree_rss_peak_kb": tree_peak,  # sampled sum over all live processes of the tree
        "subreaper": subreaper,
        "leftovers_killed": bool(killed),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure a command's wall, CPU and memory.")
    parser.add_argument("--json-out", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--stdout", type=Path, default=Path(os.devnull))
    parser.add_argument("--stderr", type=Path, default=Path(os.devnull))
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command given")
    result = measure(cmd, args.timeout, args.stdout, args.stderr)
    args.json_out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
