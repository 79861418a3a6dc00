"""``warcwire serve``: the service's process, its signals and its shutdown.

SIGHUP reloads the config. SIGTERM or SIGINT stop it: no new crawls start,
running ones get ``scheduler.stop_grace`` seconds to finish and are then sent
SIGTERM, so they close and store their WARCs and are recorded as ``stopped``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from types import FrameType

from jobs.api import ControlAPI
from jobs.service import Service
from warcwire.exceptions import ConfigError

logger = logging.getLogger(__name__)


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)  # we log each run


def serve(config_path: str, *, verbose: bool = False) -> int:
    """Run the scheduler and control API until SIGTERM/SIGINT; returns the exit code."""
    setup_logging(logging.DEBUG if verbose else logging.INFO)
    service = Service(config_path)  # ConfigError / HistoryError: one line, exit 2 / 1
    api = ControlAPI(service, service.config.scheduler.listen)
    wake = threading.Event()
    requests: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        requests.append("reload" if signum == signal.SIGHUP else "stop")
        wake.set()

    previous = {sig: signal.signal(sig, on_signal)
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        service.start()
        api.start()
        logger.info("warcwire serve ready (pid %d, config %s)", os.getpid(), service.config_path)
        while True:
            wake.wait(timeout=60)
            wake.clear()
            if "stop" in requests:
                logger.info("Stopping: no new crawls; running ones get %ss",
                            service.config.scheduler.stop_grace)
                break
            if requests:
                requests.clear()
                with contextlib.suppress(ConfigError):  # logged; the current config stays
                    service.reload()
        service.shutdown()
    finally:
        api.stop()
        if not service.stopping.is_set():  # an error on the way: still stop the children
            service.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0

