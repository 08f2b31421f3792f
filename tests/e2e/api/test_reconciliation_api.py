"""`/api/v1/reconciliation` on every backend: the exceptions queue, a manual match replayed by its
Idempotency-Key, accept and reject of suggestions, unmatch and write-off with their reasons, the
roles that may decide, and another company's data kept out of sight."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.auth import acting_as
from tests.support.orders import PAYER_IBAN, api_client
from tests.support.recon import AUDITOR, OPERATOR, OUTSIDER, TREASURER, line, sent_order, store_statement
from yinqi.application.accounts import onboard_account
from yinqi.domain.identifiers import Iban
from yinqi.domain.money import Money
from yinqi.domain.parties import AccountRef

BASE = "/api/v1/reconciliation"


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    client = api_client(engine, tmp_path)
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with hub.uow() as uow:
        onboard_account(uow=uow, clock=hub.clock, actor="test", account=AccountRef(iban=Iban.parse(PAYER_IBAN)),
                        currency="EUR", opening_balance=Money.parse("10000.00", "EUR"), name="Acme")
    acting_as(client.app, TREASURER)  # type: ignore[arg-type]
    return client


@pytest.fixture
def batch(client: TestClient) -> tuple[Any, Any, int, int]:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    o1 = sent_order(hub.uow, hub.clock, "A-1", "100.00", payee="Alpha Supplies")
    o2 = sent_order(hub.uow, hub.clock, "A-2", "40.00", payee="Beta Parts")
    ids = store_statement(hub.uow, hub.clock, [line("BR1", "-140.00", text="collective booking", name=None),
                                               line("BR2", "-12.50", text="account fee", name="BANK")])
    return o1, o2, ids[0], ids[1]


def post(client: TestClient, path: str, body: dict[str, Any], key: str) -> Any:
    return client.post(BASE + path, json=body, headers={"Idempotency-Key": key})


def test_the_queue_lists_lines_with_amounts_and_reasons_and_orders(client: TestClient, batch) -> None:  # type: ignore[no-untyped-def]
    o1, o2, batch_line, fee_line = batch
    got = client.get(BASE + "/exceptions")
    assert got.status_code == 200, got.text
    body = got.json()
    assert [(x["entry_id"], x["amount"], x["currency"], x["reasons"]) for x in body["lines"]] == [
        (batch_line, "-140.00", "EUR", ["NO_CANDIDATE"]), (fee_line, "-12.50", "EUR", ["NO_CANDIDATE"])]
    assert {(x["order_id"], x["amount"], x["reason"]) for x in body["items"]} == {
        (o1.id, "100.00", "open"), (o2.id, "40.00", "open")}


def test_a_manual_match_is_idempotent_and_an_operator_may_not_decide(client: TestClient, batch) -> None:  # type: ignore[no-untyped-def]
    o1, o2, batch_line, _ = batch
    body = {"entry_ids": [batch_line], "order_ids": [o1.id, o2.id], "reason": "batch booking"}
    acting_as(client.app, OPERATOR)  # type: ignore[arg-type]
    refused = post(client, "/matches", body, "k-op")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    acting_as(client.app, TREASURER)  # type: ignore[arg-type]
    first = post(client, "/matches", body, "k-1")
    assert first.status_code == 201, first.text
    assert first.json()["strategy"] == "1:N" and first.json()["status"] == "manual"
    again = post(client, "/matches", body, "k-1")
    assert again.status_code == 201 and again.headers["Idempotency-Replayed"] == "true"
    assert again.json()["group_id"] == first.json()["group_id"]
    claimed = post(client, "/matches", {"entry_ids": [batch_line], "order_ids": [o1.id]}, "k-2")
    assert claimed.status_code == 409 and claimed.json()["error"]["code"] == "RECON_LINE_CLAIMED"
    groups = client.get(BASE + "/exceptions").json()["groups"]
    assert [g["group_id"] for g in groups] == [first.json()["group_id"]]
    unmatched = post(client, f"/matches/{first.json()['group_id']}/unmatch", {"reason": "wrong"}, "k-3")
    assert unmatched.status_code == 201 and unmatched.json()["supersedes"] == first.json()["group_id"]


def test_write_off_and_unmatch_need_a_reason(client: TestClient, batch) -> None:  # type: ignore[no-untyped-def]
    _, _, _, fee_line = batch
    missing = post(client, "/write-offs", {"entry_ids": [fee_line], "reason": " "}, "w-1")
    assert missing.status_code == 422
    assert (missing.json()["error"]["code"], missing.json()["error"]["where"]) == ("RECON_REASON_REQUIRED", "reason")
    done = post(client, "/write-offs", {"entry_ids": [fee_line], "reason": "account fee Q1"}, "w-2")
    assert done.status_code == 201 and done.json()["write_off_account"] == "expenses:recon-write-off:EUR"
    unknown = post(client, "/matches/no-such-group/unmatch", {"reason": "x"}, "w-3")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "RECON_GROUP_NOT_FOUND"


def test_suggestions_are_accepted_or_rejected(client: TestClient) -> None:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    near = sent_order(hub.uow, hub.clock, "S-1", "300.00")
    other = sent_order(hub.uow, hub.clock, "S-2", "75.00", payee="Gamma Tools AG")
    store_statement(hub.uow, hub.clock, [line("BRS", "-300.00", text="payment"),
                                         line("BRT", "-75.00", text="payment", name="GAMMA TOOLS AG")])
    suggestions = {tuple(s["order_ids"]): s for s in client.get(BASE + "/exceptions").json()["suggestions"]}
    accept, reject = suggestions[(near.id,)], suggestions[(other.id,)]
    assert "NAME_SIMILAR" in " ".join(accept["reasons"]) and 0 < accept["confidence"] < 1
    assert post(client, f"/suggestions/{accept['id']}/accept", {}, "s-1").status_code == 201
    assert post(client, f"/suggestions/{reject['id']}/reject", {"reason": "not ours"}, "s-2").status_code == 201
    assert client.get(BASE + "/exceptions").json()["suggestions"] == []
    gone = post(client, f"/suggestions/{reject['id']}/accept", {}, "s-3")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "RECON_SUGGESTION_NOT_FOUND"


def test_an_auditor_reads_and_another_company_sees_nothing(client: TestClient, batch) -> None:  # type: ignore[no-untyped-def]
    o1, _, batch_line, _ = batch
    acting_as(client.app, AUDITOR)  # type: ignore[arg-type]
    assert client.get(BASE + "/exceptions").json()["lines"]
    assert post(client, "/write-offs", {"entry_ids": [batch_line], "reason": "x"}, "a-1").status_code == 403
    acting_as(client.app, OUTSIDER)  # type: ignore[arg-type]
    seen = client.get(BASE + "/exceptions").json()
    assert seen["lines"] == [] and seen["items"] == []
    hidden = post(client, "/matches", {"entry_ids": [batch_line], "order_ids": [o1.id]}, "o-1")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "RECON_LINE_NOT_FOUND"
