"""The idempotency key store on SQLite and PostgreSQL: one claimant per key, even under races;
stored responses come back byte for byte; an abandoned claim can be taken over after its lease."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from tests.support.vault import TEST_VAULT
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application.idempotency import Claim, StoredResponse

T0 = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
BODY = "\u94f6\u4f01".encode() + bytes(range(256))  # not even UTF-8: bytes are kept as they are


def claim(engine: Engine, *, fingerprint: str = "f1", now: datetime = T0, key: str = "K") -> Claim:
    with SqlUnitOfWork(engine, ledger_key=b"k" * 32, vault=TEST_VAULT) as uow:
        result: Claim = uow.idempotency.claim(
            scope="user:a", key=key, fingerprint=fingerprint, method="POST", path="/p",
            request_body='{"a":1}', now=now, lease_until=now + timedelta(seconds=60))
        uow.commit()
    return result


def complete(engine: Engine, response: StoredResponse, key: str = "K") -> None:
    with SqlUnitOfWork(engine, ledger_key=b"k" * 32, vault=TEST_VAULT) as uow:
        uow.idempotency.complete(scope="user:a", key=key, response=response, now=T0)
        uow.commit()


def test_first_claim_wins_then_in_progress_then_mismatch(engine: Engine) -> None:
    assert claim(engine).kind == "claimed"
    assert claim(engine).kind == "in_progress"
    other = claim(engine, fingerprint="f2")
    assert other.kind == "mismatch" and other.stored_body == '{"a":1}' and other.stored_path == "/p"


def test_a_completed_key_replays_the_exact_bytes(engine: Engine) -> None:
    claim(engine)
    complete(engine, StoredResponse(201, BODY, "order-1"))
    replay = claim(engine)
    assert replay.kind == "completed"
    assert replay.response == StoredResponse(201, BODY, "order-1")


def test_an_abandoned_claim_is_taken_over_after_its_lease_once(engine: Engine) -> None:
    claim(engine)
    assert claim(engine, now=T0 + timedelta(seconds=30)).kind == "in_progress"
    assert claim(engine, now=T0 + timedelta(seconds=61)).kind == "claimed"
    assert claim(engine, now=T0 + timedelta(seconds=62)).kind == "in_progress"


def test_concurrent_claims_of_one_key_have_exactly_one_winner(engine: Engine) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        kinds = list(pool.map(lambda _: claim(engine, key="race").kind, range(8)))
    assert sorted(kinds) == ["claimed"] + ["in_progress"] * 7


def test_releasing_a_claim_frees_the_key(engine: Engine) -> None:
    claim(engine)
    with SqlUnitOfWork(engine, ledger_key=b"k" * 32, vault=TEST_VAULT) as uow:
        uow.idempotency.release(scope="user:a", key="K")
        uow.commit()
    assert claim(engine, fingerprint="f2").kind == "claimed"
