"""Fault injection: the ways the sandbox bank misbehaves on purpose (RELIABILITY.md, R2 and §3).

Faults are set at start-up (`--faults '{"outage": true}'`) or at run time (`PUT /admin/faults`)
and live in memory only: a restarted bank behaves again. Each mode is small and exact:

- `drop_response_after_processing`: the next N pain.001 submissions are processed and booked,
  then the connection is closed without a complete answer. The client sees a transport error and
  cannot know the outcome, which is exactly the case MsgId deduplication must make safe.
- `reject_rate` (0..1) with `seed`: each transaction is rejected with AM04 or AC01 with this
  probability. The draw is a pure function of (seed, MsgId, EndToEndId), so a run replays exactly
  and a resubmitted message gets the same verdict.
- `status_delay_ms`: a status report becomes available only this long after processing; before
  that `GET /h2h/status/{id}` answers 202 (pending).
- `outage`: every /h2h endpoint answers 503 with `Retry-After: outage_retry_after_s`.
- `duplicate_status`: the status listing names every report twice.
"""

from __future__ import annotations

import hashlib
import threading

from pydantic import BaseModel, ConfigDict, Field


class Faults(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    drop_response_after_processing: int = Field(default=0, ge=0, le=1000)
    reject_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    seed: int = 0
    status_delay_ms: int = Field(default=0, ge=0, le=3_600_000)
    outage: bool = False
    outage_retry_after_s: int = Field(default=2, ge=0, le=3600)
    duplicate_status: bool = False


def rejects(faults: Faults, *, message_id: str, end_to_end_id: str) -> str | None:
    """The reason code (AM04 or AC01) if `reject_rate` rejects this transaction, else None.

    >>> rejects(Faults(reject_rate=1.0), message_id="M", end_to_end_id="E") in {"AM04", "AC01"}
    True
    >>> rejects(Faults(), message_id="M", end_to_end_id="E") is None
    True
    """
    if faults.reject_rate <= 0:
        return None
    digest = hashlib.sha256(f"{faults.seed}\x1f{message_id}\x1f{end_to_end_id}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    if draw >= faults.reject_rate:
        return None
    return "AM04" if digest[8] % 2 == 0 else "AC01"


class FaultSwitch:
    """The bank's current faults, shared by request threads; counters are consumed atomically."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = faults or Faults()

    @property
    def current(self) -> Faults:
        with self._lock:
            return self._faults

    def replace(self, faults: Faults) -> Faults:
        with self._lock:
            self._faults = faults
            return faults

    def take_drop(self) -> bool:
        """True (and one fewer pending drop) if this response must be dropped."""
        with self._lock:
            if self._faults.drop_response_after_processing <= 0:
                return False
            left = self._faults.drop_response_after_processing - 1
            self._faults = self._faults.model_copy(update={"drop_response_after_processing": left})
            return True
