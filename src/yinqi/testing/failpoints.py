"""Failpoints: named places in side-effecting code where a test can make the process fail.

A no-op unless `YINQI_FAILPOINTS` names the point, so production pays one dict lookup. The
variable is `name=action[;name=action...]` where action is `exit` (os._exit(137), like kill -9:
no cleanup, no commit), `raise`, `sleep:<ms>`, or `nth:<k>:<action>` (fire only on the k-th hit).
Crash tests run the real worker or API as a subprocess with one point armed, restart it, and check
the invariants (docs: RELIABILITY.md, "Test machinery").
"""

from __future__ import annotations

import os
import threading
import time

ENV = "YINQI_FAILPOINTS"

# Every point the code declares, so a test can parametrize over all of them.
KNOWN: set[str] = set()


class FailpointTriggered(RuntimeError):
    """Raised by the `raise` action; deliberately not a DomainError (it simulates a crash)."""


_hits: dict[str, int] = {}
_lock = threading.Lock()
_parsed: tuple[str, dict[str, str]] | None = None


def _config() -> dict[str, str]:
    global _parsed
    raw = os.environ.get(ENV, "")
    if _parsed is None or _parsed[0] != raw:
        pairs = (item.split("=", 1) for item in raw.split(";") if "=" in item)
        _parsed = (raw, {name.strip(): action.strip() for name, action in pairs})
    return _parsed[1]


def declare(*names: str) -> None:
    KNOWN.update(names)


def failpoint(name: str) -> None:
    """Fail here if the environment arms `name`. Call it between two side effects."""
    KNOWN.add(name)
    action = _config().get(name)
    if action is None:
        return
    if action.startswith("nth:"):
        _, k, action = action.split(":", 2)
        with _lock:
            _hits[name] = _hits.get(name, 0) + 1
            if _hits[name] != int(k):
                return
    _fire(name, action)


def _fire(name: str, action: str) -> None:
    if action == "exit":
        os._exit(137)
    if action == "raise":
        raise FailpointTriggered(name)
    if action.startswith("sleep:"):
        time.sleep(int(action.split(":", 1)[1]) / 1000)
        return
    raise ValueError(f"unknown failpoint action {action!r} for {name}")
