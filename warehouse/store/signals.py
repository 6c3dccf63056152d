"""Short steps that must not stop halfway: Ctrl-C and SIGTERM wait for their end; and
``Interrupted``, what either raises once a build or a merge may stop (pipeline.interrupt).

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


class Interrupted(KeyboardInterrupt):
    """Raised by ``build`` or ``merge`` when a signal stopped it."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.summary: Any = None  # the BuildSummary of the files finished before
        self.loading: str | None = None  # the file whose load was rolled back

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # as a shell reports a process ended by the signal


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
