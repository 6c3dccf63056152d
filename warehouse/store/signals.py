"""Short steps that must not stop halfway: Ctrl-C and SIGTERM wait for their end.

Moving a local copy into place, taking the build lock: a signal handler that
raises in the middle would leave them half done (a copy neither published
nor discarded, a lock held by a forgotten descriptor). Within ``deferred()``
the signal is noted, and its usual handler runs once the step is over.
Python runs signal handlers in the main thread only, so elsewhere there is
nothing to defer.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def deferred() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {
        signum: signal.signal(signum, lambda signum, frame: caught.append(signum))
        for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            _deliver(caught[0], previous[caught[0]])


def _deliver(signum: int, handler: object) -> None:
    if callable(handler):
        handler(signum, None)  # e.g. KeyboardInterrupt for Ctrl-C
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), signum)  # what the signal would have done
