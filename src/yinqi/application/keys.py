"""Rotating and retiring the keys that seal account numbers at rest (R19).

Four-eyes: one admin requests a rotation, a different admin approves it, and only the approval
creates the new key and re-seals every stored value under it. The approval first records the new
key's id (committed, audited), then makes it the active key, then re-seals in batches of N rows,
one transaction each, with the failpoint `keys.rotate.mid_batch` between batches. A run killed
anywhere resumes by approving again: the recorded key is reused and rows already under it are
skipped, so nothing is lost or sealed twice. A retired key's bytes are destroyed; retiring is
refused while any stored value still uses it.

Every step is audited: `key.rotate.request`, `key.rotate.approve`, `key.rotate.complete`,
`key.retire` (and refusals through `record_refusal`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from yinqi.application import audit
from yinqi.application.ports import AccountVault, Clock
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.identity.principal import Principal
from yinqi.domain.problems import DomainError
from yinqi.testing.failpoints import declare, failpoint

__all__ = ["DEFAULT_BATCH", "KeyInfo", "KeyRing", "KeyRotationNotFound", "KeyRotationSameAdmin",
           "KeyRotationState", "KeyStillInUse", "Rotation", "RotationResult", "approve_rotation", "list_keys",
           "request_rotation", "retire_key"]

DEFAULT_BATCH = 500
MAX_BATCHES = 1_000_000  # a bound on the loop, far above any table this hub holds
OBJECT_TYPE = "field_key"
declare("keys.rotate.mid_batch")


class KeyRotationNotFound(DomainError):
    code = "KEY_ROTATION_NOT_FOUND"


class KeyRotationSameAdmin(DomainError):
    code = "KEY_ROTATION_SAME_ADMIN"


class KeyRotationState(DomainError):
    code = "KEY_ROTATION_STATE"


class KeyStillInUse(DomainError):
    code = "KEY_STILL_IN_USE"


@dataclass(frozen=True, slots=True)
class Rotation:
    id: str
    status: str  # requested, running, completed
    from_key_id: str
    to_key_id: str | None
    requested_by: str
    requested_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    completed_at: datetime | None
    resealed: int


@dataclass(frozen=True, slots=True)
class KeyInfo:
    key_id: str
    active: bool
    retired: bool
    values: int  # stored values sealed under it


@dataclass(frozen=True, slots=True)
class RotationResult:
    rotation: Rotation
    resealed: int  # by this run (a resumed run counts only its own)


class KeyRing(AccountVault, Protocol):
    """The vault's key management (the adapter is `FieldKeyring`)."""

    def new_key_id(self) -> str: ...
    def ensure_key(self, key_id: str) -> None: ...
    def activate(self, key_id: str) -> None: ...
    def retire(self, key_id: str) -> None: ...
    def key_infos(self) -> Sequence[Any]: ...


UowFactory = Callable[[], AbstractContextManager[Any]]


def list_keys(*, uow: Any, keyring: KeyRing, principal: Principal) -> list[KeyInfo]:
    """Every key, oldest first, with how many stored values it seals. Raises FORBIDDEN."""
    require(principal, Permission.KEY_ROTATE)
    counts = uow.field_keys.count_by_key()
    known = keyring.key_infos()
    return [KeyInfo(k.key_id, k.active, k.retired, counts.get(k.key_id, 0)) for k in known]


def request_rotation(*, uow: Any, keyring: KeyRing, clock: Clock, principal: Principal) -> Rotation:
    """Ask for a new data key; a second admin must approve. Raises FORBIDDEN (not key.rotate)."""
    require(principal, Permission.KEY_ROTATE)
    now = clock.now()
    rotation: Rotation = uow.field_keys.add_rotation(rotation_id=str(uuid.uuid4()), from_key_id=keyring.active_key_id,
                                                     requested_by=principal.actor_id, at=now)
    audit.record(uow, principal=principal, action="key.rotate.request", object_type=OBJECT_TYPE,
                 object_id=rotation.id, at=now, after={"from_key_id": rotation.from_key_id})
    uow.commit()
    return rotation


def approve_rotation(*, new_uow: UowFactory, keyring: KeyRing, clock: Clock, principal: Principal,
                     rotation_id: str, batch_size: int = DEFAULT_BATCH,
                     on_progress: Callable[[int, int], None] | None = None) -> RotationResult:
    """Approve (or resume) a rotation and re-seal everything under its new key.
    `on_progress(done, total)` is called after each batch.

    Raises:
        Forbidden (FORBIDDEN): not key.rotate.
        KeyRotationNotFound (KEY_ROTATION_NOT_FOUND), KeyRotationState (KEY_ROTATION_STATE): completed.
        KeyRotationSameAdmin (KEY_ROTATION_SAME_ADMIN): the requester cannot approve their own request.
    """
    assert 1 <= batch_size <= 100_000
    try:
        require(principal, Permission.KEY_ROTATE)
        to_key_id = _approved(new_uow, keyring, clock, principal, rotation_id)
    except DomainError as exc:
        audit.record_refusal(new_uow, principal=principal, action="key.rotate.approve", object_type=OBJECT_TYPE,
                             object_id=rotation_id, at=clock.now(), error=exc)
        raise
    keyring.ensure_key(to_key_id)
    keyring.activate(to_key_id)
    resealed = _reseal_all(new_uow, to_key_id, rotation_id, batch_size, on_progress)
    return RotationResult(_complete(new_uow, clock, principal, rotation_id, to_key_id), resealed)


def _approved(new_uow: UowFactory, keyring: KeyRing, clock: Clock, principal: Principal, rotation_id: str) -> str:
    """The rotation's new key id: recorded now (first approval) or earlier (a resumed run)."""
    with new_uow() as uow:
        rotation: Rotation | None = uow.field_keys.rotation(rotation_id, for_update=True)
        if rotation is None:
            raise KeyRotationNotFound(f"no key rotation {rotation_id}", where="rotation_id", rule="exists",
                                      value=rotation_id)
        if rotation.requested_by == principal.actor_id:
            raise KeyRotationSameAdmin(f"{principal.actor_id} requested this rotation; another admin approves it",
                                       where="actor", rule="two_admins", value=rotation_id)
        if rotation.status == "completed":
            raise KeyRotationState(f"key rotation {rotation_id} is already completed", where="rotation_id",
                                   rule="not_completed", value=rotation_id)
        if rotation.status == "running":
            assert rotation.to_key_id is not None
            return rotation.to_key_id
        now, to_key_id = clock.now(), keyring.new_key_id()
        uow.field_keys.approve(rotation_id, approved_by=principal.actor_id, to_key_id=to_key_id, at=now)
        audit.record(uow, principal=principal, action="key.rotate.approve", object_type=OBJECT_TYPE,
                     object_id=rotation_id, at=now, before={"status": "requested"},
                     after={"status": "running", "from_key_id": rotation.from_key_id, "to_key_id": to_key_id,
                            "requested_by": rotation.requested_by})
        uow.commit()
        return to_key_id


def _reseal_all(new_uow: UowFactory, to_key_id: str, rotation_id: str, batch_size: int,
                on_progress: Callable[[int, int], None] | None) -> int:
    with new_uow() as uow:
        total = int(uow.field_keys.count_not_under(to_key_id))
    done = 0
    for _ in range(MAX_BATCHES):
        with new_uow() as uow:
            n = int(uow.field_keys.reseal_batch(to_key_id=to_key_id, limit=batch_size))
            uow.field_keys.add_progress(rotation_id, n)
            uow.commit()
        done += n
        if on_progress is not None:
            on_progress(done, max(total, done))
        if n == 0:
            return done
        failpoint("keys.rotate.mid_batch")
    raise RuntimeError(f"key rotation {rotation_id} did not finish within {MAX_BATCHES} batches")


def _complete(new_uow: UowFactory, clock: Clock, principal: Principal, rotation_id: str, to_key_id: str) -> Rotation:
    with new_uow() as uow:
        left = int(uow.field_keys.count_not_under(to_key_id))
        assert left == 0, f"{left} values are still sealed under an older key"
        before: Rotation = uow.field_keys.rotation(rotation_id, for_update=True)
        if before.status == "running":
            now = clock.now()
            uow.field_keys.complete(rotation_id, at=now)
            audit.record(uow, principal=principal, action="key.rotate.complete", object_type=OBJECT_TYPE,
                         object_id=rotation_id, at=now, before={"status": "running"},
                         after={"status": "completed", "to_key_id": to_key_id, "resealed": before.resealed})
        uow.commit()
        done: Rotation = uow.field_keys.rotation(rotation_id)
        return done


def retire_key(*, new_uow: UowFactory, keyring: KeyRing, clock: Clock, principal: Principal, key_id: str) -> None:
    """Destroy an old key once nothing stored uses it.

    Raises:
        Forbidden (FORBIDDEN): not key.rotate.
        KeyStillInUse (KEY_STILL_IN_USE): stored values are still sealed under it (rotate first).
        FIELD_KEY_ACTIVE (the active key), FIELD_KEY_UNKNOWN (no such key).
    """
    try:
        require(principal, Permission.KEY_ROTATE)
        with new_uow() as uow:
            left = uow.field_keys.count_by_key().get(key_id, 0)
            if left:
                raise KeyStillInUse(f"{left} stored values are still sealed under key {key_id}; rotate first",
                                    where="key_id", rule="unused", value=key_id, details={"values": left})
            now = clock.now()
            audit.record(uow, principal=principal, action="key.retire", object_type=OBJECT_TYPE, object_id=key_id,
                         at=now, before={"retired": False}, after={"retired": True})
            keyring.retire(key_id)  # refused (active, unknown): the audit event rolls back with it
            uow.commit()
    except DomainError as exc:
        audit.record_refusal(new_uow, principal=principal, action="key.retire", object_type=OBJECT_TYPE,
                             object_id=key_id, at=clock.now(), error=exc)
        raise
