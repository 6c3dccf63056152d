"""A build stopped by SIGINT (Ctrl-C) or SIGTERM.

Either signal raises ``Interrupted`` in the main process wherever it is; the
file being loaded rolls back (its transaction), the worker process is ended,
the lock is released, and ``build`` re-raises it with what was complete.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from ..store.signals import Interrupted

__all__ = ["Interrupted", "stop_on_signals"]


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within: SIGTERM stops like Ctrl-C, and once stopping, further signals are
    ignored so that the clean-up (rollback, worker, lock) runs to its end. A signal
    ignored when the build started stays ignored: a script that started it in the
    background (``warehouse build … &``) asked for it to outlive a Ctrl-C."""
    if not hasattr(signal, "SIGTERM"):
        yield
        return
    previous = {signum: handler for signum in (signal.SIGINT, signal.SIGTERM)
                if (handler := signal.getsignal(signum)) != signal.SIG_IGN}

    def stop(signum: int, frame: object) -> None:
        for each in previous:
            signal.signal(each, signal.SIG_IGN)
        raise Interrupted(signum)

    for signum in previous:
        signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
