"""R19: encryption at rest and key rotation.

1,000 payment orders to 1,000 different accounts (through the use case, 20 of them through the API
so idempotency records hold request and response bodies), their pain.001 messages and a bank
statement. Then the database file (SQLite, with its WAL) or `pg_dump` (PostgreSQL) and every log
line are searched for each account number, compact and spaced: none may appear. Lookups by blind
index still find each order. `yinqi keys rotate` by one admin, `approve-rotation` by another, run
as a subprocess and killed (os._exit) at `keys.rotate.mid_batch`, then resumed: every stored
value ends under the new key and opens to what it was (none lost, none sealed twice). Retiring the
old key is refused while it is in use and makes its ciphertexts unreadable afterwards. The
requester cannot approve; a non-admin cannot rotate; every step is in the audit trail.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from schwifty import IBAN
from sqlalchemy import select, text

from tests.support.auth import acting_as, principal
from tests.support.orders import FixedClock
from yinqi.adapters.crypto.field_encryption import FieldKeyRetired, blob_key_id
from yinqi.adapters.db.field_key_store import SEALED_COLUMNS
from yinqi.adapters.iso20022.model import AccountId, Statement, StatementEntry
from yinqi.application import execution, order_batch
from yinqi.application.accounts import onboard_account
from yinqi.bootstrap import Hub, build_hub
from yinqi.config import Settings
from yinqi.domain.identifiers import Iban
from yinqi.domain.identity.principal import Role
from yinqi.domain.identity.users import User
from yinqi.domain.money import Money
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.parties import AccountRef
from yinqi.entrypoints.api.app import create_app

N_ORDERS, N_API, N_RELEASED = int(os.environ.get("R19_ORDERS", "1000")), 20, 60
PAYER = "DE89370400440532013000"
CLOCK = FixedClock(datetime(2030, 1, 10, 9, 0, tzinfo=UTC))
MAKER = principal("maker", Role.OPERATOR)


def payees() -> list[str]:
    return [str(IBAN.generate("DE", bank_code="37040044", account_code=f"{i + 1:010d}")) for i in range(N_ORDERS)]


def spaced(iban: str) -> str:
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def hub(db_url: str, home: Path) -> Iterator[Hub]:
    hub = build_hub(Settings(home=home, db=db_url, auto_release=False), clock=CLOCK)
    yield hub
    hub.engine.dispose()


def command(serial: str, payee: str) -> CreateOrder:
    return CreateOrder(company_id="ACME", serial=serial, amount="10.00", currency="EUR",
                       requested_execution_date=date(2030, 1, 10), source="api", remittance_info=f"invoice {serial}",
                       payer=PayerInput(name="Acme", account=AccountInput(iban=PAYER), currency="EUR"),
                       payee=PayeeInput(name=f"Supplier {serial}", account=AccountInput(iban=payee), country="DE"))


def add_admins(hub: Hub) -> None:
    with hub.uow() as uow:
        if not uow.identity.company_exists("ACME"):
            uow.identity.add_company(company_id="ACME", name="Acme", at=CLOCK.now())
        for name, role in (("admin1", Role.ADMIN), ("admin2", Role.ADMIN), ("clerk", Role.OPERATOR)):
            uow.identity.add_user(User(id=str(uuid.uuid4()), username=name, display_name=name,
                                       roles=frozenset({role}), companies=frozenset({"ACME"}),
                                       approval_limit_minor=None, disabled=False, totp_enrolled=False,
                                       password_changed_at=CLOCK.now(), created_at=CLOCK.now()),
                                  password_hash="not-used-by-this-test")
        uow.commit()


def populate(hub: Hub, accounts: list[str]) -> dict[str, str]:
    """1,000 orders (the first N_API through the API), messages for N_RELEASED, one statement.
    Returns order id -> payee IBAN."""
    with hub.uow() as uow:
        onboard_account(uow=uow, clock=CLOCK, actor="test", account=AccountRef(iban=Iban.parse(PAYER)),
                        currency="EUR", opening_balance=Money.parse("100000.00", "EUR"), name="Acme")
    client = _api(hub)
    placed: dict[str, str] = {}
    for i, payee in enumerate(accounts[:N_API]):
        body = {"company_id": "ACME", "serial": f"R19-{i}", "amount": "10.00", "currency": "EUR",
                "requested_execution_date": "2030-01-10",
                "payer": {"name": "Acme", "account": {"iban": PAYER}, "currency": "EUR"},
                "payee": {"name": f"Supplier {i}", "account": {"iban": spaced(payee)}, "country": "DE"}}
        response = client.post("/api/v1/payment-orders", json=body, headers={"Idempotency-Key": f"r19-{i}"})
        assert response.status_code == 201, response.text
        placed[response.json()["id"]] = payee
    # the rest through the bulk path imports use (a batch of released orders, then one of pending ones)
    for start, stop, release in ((N_API, N_API + N_RELEASED, True), (N_API + N_RELEASED, len(accounts), False)):
        batch = accounts[start:stop]
        with hub.uow() as uow:
            created = order_batch.create_orders(uow=uow, clock=CLOCK, principal=MAKER, auto_release=release,
                                                commands=[command(f"R19-{start + k}", p) for k, p in enumerate(batch)])
        placed.update({order.id: payee for order, payee in zip(created, batch, strict=True)})
    built = execution.build_messages(uow_factory=hub.uow, clock=CLOCK, codec=hub.codec,
                                     config=execution.ExecutionConfig())
    assert built, "released orders went into pain.001 messages"
    entries = tuple(StatementEntry(amount=Decimal("-10.00"), currency="EUR", status="BOOK",
                                   booking_date=date(2030, 1, 10), value_date=date(2030, 1, 10),
                                   bank_reference=f"REF-{n}", end_to_end_ids=(), counterparty_name=f"Supplier {n}")
                    for n in range(5))
    with hub.uow() as uow:
        uow.statements.import_statement(Statement("STMT-R19", AccountId(iban=PAYER, currency="EUR"), None, None,
                                                  entries), fmt="camt.053.001.08", source_sha256="c" * 64,
                                        at=CLOCK.now())
        uow.commit()
    return placed


def _api(hub: Hub):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    app = create_app(engine=hub.engine, settings=hub.settings, hub=hub)
    acting_as(app, MAKER)
    return TestClient(app, raise_server_exceptions=False)


def database_bytes(db_url: str, tmp_path: Path) -> bytes:
    """Everything the database holds at rest: SQLite's file and WAL, or a pg_dump."""
    if db_url.startswith("sqlite"):
        # Read by another process: opening and closing the file here would drop this process's POSIX
        # locks on it, which SQLite relies on (sqlite.org/howtocorrupt.html, 2.2).
        path = Path(db_url.removeprefix("sqlite:///"))
        files = [str(p) for p in (path, Path(f"{path}-wal")) if p.exists()]
        return subprocess.run(["cat", *files], check=True, capture_output=True, timeout=60).stdout
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump")) or [shutil.which("pg_dump") or ""]
    if not found[-1]:
        pytest.fail("pg_dump not found (Debian: /usr/lib/postgresql/*/bin/pg_dump)")
    dump = tmp_path / "backup.sql"
    subprocess.run([found[-1], "--no-owner", "-f", str(dump), db_url], check=True, timeout=300)
    return dump.read_bytes()


def leaks(haystack: bytes, accounts: list[str]) -> list[str]:
    return [a for a in [PAYER, *accounts] if a.encode() in haystack or spaced(a).encode() in haystack]


def cli(args: list[str], *, db_url: str, home: Path, failpoints: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "YINQI_HOME": str(home), "YINQI_FAILPOINTS": failpoints}
    return subprocess.run([sys.executable, "-m", "yinqi.entrypoints.cli.main", "keys", *args, "--db", db_url],
                          env=env, capture_output=True, text=True, timeout=600)


def sealed_values(hub: Hub) -> list[tuple[str, str]]:
    """(field, blob) of every sealed value in the database."""
    with hub.engine.connect() as conn:
        return [(s.field, blob) for s in SEALED_COLUMNS
                for (blob,) in conn.execute(select(s.column).where(s.column.is_not(None)))]


def test_no_account_number_at_rest_and_a_crashed_rotation_resumes_without_loss(
        hub: Hub, db_url: str, home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    accounts = payees()
    add_admins(hub)
    placed = populate(hub, accounts)
    assert len(placed) == N_ORDERS

    # --- nothing in clear: database, backup, logs ------------------------------------------------
    assert leaks(database_bytes(db_url, tmp_path), accounts) == []
    with hub.uow() as uow:  # the blind index finds each order
        for order_id, payee in list(placed.items())[::97]:
            found = uow.orders.find_by_account(AccountRef(iban=Iban.parse(spaced(payee))))
            assert [o.id for o in found] == [order_id]

    # --- two admins, audited ----------------------------------------------------------------------
    assert "FORBIDDEN" in cli(["rotate", "--as", "clerk"], db_url=db_url, home=home).stderr
    requested = cli(["rotate", "--as", "admin1"], db_url=db_url, home=home)
    assert requested.returncode == 0, requested.stderr
    rotation_id = requested.stdout.split()[1]
    own = cli(["approve-rotation", rotation_id, "--as", "admin1"], db_url=db_url, home=home)
    assert own.returncode == 1 and "KEY_ROTATION_SAME_ADMIN" in own.stderr

    before = sealed_values(hub)
    old_key = hub.vault.active_key_id
    assert {blob_key_id(b) for _, b in before} == {old_key} and len(before) > 2 * N_ORDERS
    clear = {(f, b): hub.vault.open(b, field=f) for f, b in before[:50]}

    # --- approve, killed between two batches --------------------------------------------------------
    crashed = cli(["approve-rotation", rotation_id, "--as", "admin2", "--batch-size", "200", "--quiet"],
                  db_url=db_url, home=home, failpoints="keys.rotate.mid_batch=nth:2:exit")
    assert crashed.returncode == 137, crashed.stdout + crashed.stderr
    half = sealed_values(hub)
    new_key = hub.vault.active_key_id
    assert new_key != old_key and len(half) == len(before)
    under = Counter(blob_key_id(b) for _, b in half)
    assert under[new_key] == 400 and under[old_key] == len(before) - 400, under
    in_use = cli(["retire", old_key, "--as", "admin1"], db_url=db_url, home=home)
    assert in_use.returncode == 1 and "KEY_STILL_IN_USE" in in_use.stderr

    # --- resume: every value under the new key, opening to what it was -----------------------------
    resumed = cli(["approve-rotation", rotation_id, "--as", "admin2", "--quiet"], db_url=db_url, home=home)
    assert resumed.returncode == 0, resumed.stderr
    after = sealed_values(hub)
    assert len(after) == len(before) and {blob_key_id(b) for _, b in after} == {new_key}
    opened = [hub.vault.open_bytes(b, field=f) for f, b in after]
    assert not any(v.startswith(b"v1:") for v in opened)  # nothing sealed twice
    with hub.uow() as uow:
        stored = {o.id: o.payee.account.number for o in _all_orders(uow)}
    assert stored == placed  # nothing lost

    # --- retire the old key: its ciphertexts are dead -----------------------------------------------
    retired = cli(["retire", old_key, "--as", "admin1"], db_url=db_url, home=home)
    assert retired.returncode == 0, retired.stderr
    (field, blob) = next(iter(clear))
    with pytest.raises(FieldKeyRetired):
        hub.vault.open(blob, field=field)
    listed = cli(["list", "--as", "admin2", "--json"], db_url=db_url, home=home)
    assert f'"key_id": "{old_key}"' in listed.stdout and '"retired": true' in listed.stdout

    with hub.engine.connect() as conn:
        trail = [tuple(r) for r in conn.execute(text(
            "SELECT action, actor_id, outcome FROM audit_events WHERE object_type = 'field_key' ORDER BY seq"))]
    assert [t for t in trail if t[2] == "success"] == [
        ("key.rotate.request", "admin1", "success"), ("key.rotate.approve", "admin2", "success"),
        ("key.rotate.complete", "admin2", "success"), ("key.retire", "admin1", "success")]
    assert ("key.rotate.approve", "admin1", "denied") in trail or any(
        a == "key.rotate.approve" and who == "admin1" and outcome != "success" for a, who, outcome in trail)

    # --- and still nothing in clear after the rotation, in the database or any log ------------------
    logs = "\n".join(r.getMessage() for r in caplog.records) + "".join(
        p.stdout + p.stderr for p in (requested, own, crashed, in_use, resumed, retired, listed))
    assert leaks(database_bytes(db_url, tmp_path) + logs.encode(), accounts) == []


def _all_orders(uow):  # type: ignore[no-untyped-def]
    orders, after = [], None
    while True:
        page = uow.orders.list(limit=500, after=after)
        orders.extend(page)
        if len(page) < 500:
            return orders
        after = (page[-1].created_at, page[-1].id)
