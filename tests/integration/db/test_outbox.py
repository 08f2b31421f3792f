from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from yinqi.adapters.db.outbox_store import MAX_ATTEMPTS, SqlOutbox, backoff_seconds

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_an_added_row_is_claimed_once_until_its_lease_ends(engine: Engine) -> None:
    with engine.begin() as conn:
        SqlOutbox(conn).add(topic="t", aggregate_id="a", payload={"x": 1}, at=T0)
    with engine.begin() as conn:
        first = SqlOutbox(conn).claim_due(topics=["t"], now=T0, lease_s=60)
    with engine.begin() as conn:
        again = SqlOutbox(conn).claim_due(topics=["t"], now=T0 + timedelta(seconds=30))
    with engine.begin() as conn:
        after_lease = SqlOutbox(conn).claim_due(topics=["t"], now=T0 + timedelta(seconds=61))
    assert [i.payload for i in first] == [{"x": 1}]
    assert again == []
    assert [i.id for i in after_lease] == [first[0].id]


def test_a_duplicate_dedupe_key_adds_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        box = SqlOutbox(conn)
        assert box.add(topic="t", aggregate_id="a", payload={}, at=T0, dedupe_key="k") is not None
        assert box.add(topic="t", aggregate_id="a", payload={"other": 1}, at=T0, dedupe_key="k") is None
        assert box.counts() == {"pending": 1}


def test_delivered_rows_are_never_claimed_again(engine: Engine) -> None:
    with engine.begin() as conn:
        box = SqlOutbox(conn)
        box.add(topic="t", aggregate_id="a", payload={}, at=T0)
        item = box.claim_due(topics=["t"], now=T0)[0]
        box.mark_delivered(item.id, at=T0)
        assert box.claim_due(topics=["t"], now=T0 + timedelta(days=1)) == []
        assert box.counts() == {"delivered": 1}


def test_a_failed_attempt_backs_off_and_gives_up_after_the_limit(engine: Engine) -> None:
    with engine.begin() as conn:
        box = SqlOutbox(conn)
        box.add(topic="t", aggregate_id="a", payload={}, at=T0)
        item = box.claim_due(topics=["t"], now=T0)[0]
        box.mark_failed(item.id, at=T0, error="boom")
        assert box.claim_due(topics=["t"], now=T0) == []
        assert len(box.claim_due(topics=["t"], now=T0 + timedelta(seconds=backoff_seconds(1)))) == 1
        for _ in range(MAX_ATTEMPTS):
            box.mark_failed(item.id, at=T0, error="boom")
        assert box.counts() == {"dead": 1}


def test_rows_are_claimed_oldest_first_and_only_for_the_asked_topics(engine: Engine) -> None:
    with engine.begin() as conn:
        box = SqlOutbox(conn)
        for n in range(3):
            box.add(topic="t", aggregate_id=f"a{n}", payload={"n": n}, at=T0)
        box.add(topic="other", aggregate_id="z", payload={}, at=T0)
        assert [i.payload["n"] for i in box.claim_due(topics=["t"], now=T0)] == [0, 1, 2]
