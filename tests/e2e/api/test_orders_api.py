"""The payment order REST API end to end (FastAPI app, real database on both backends)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.support.auth import TEST_ACTOR_HEADER, acting_by_header
from tests.support.orders import checker, install_policy, limit_policy, person
from tests.support.vault import funds_codes
from yinqi.config import Settings
from yinqi.domain.identity.principal import Role
from yinqi.domain.money import Money
from yinqi.entrypoints.api.app import create_app

URL = "/api/v1/payment-orders"
IBAN = "DE89370400440532013000"
_keys = itertools.count()


class Clock:
    def now(self) -> datetime:
        return datetime(2030, 1, 10, 9, 0, tzinfo=UTC)


def order_body(serial: str = "API-1", amount: str = "2500.00", **extra: Any) -> dict[str, Any]:
    return {"company_id": "ACME", "serial": serial, "amount": amount, "currency": "EUR",
            "requested_execution_date": "2030-01-10", "urgency": "urgent", "purpose_code": "SUPP",
            "remittance_info": "Invoice 4711",
            "payer": {"name": "Acme", "account": {"iban": IBAN}, "currency": "EUR", "bic": "COBADEFFXXX"},
            "payee": {"name": "Fournisseur", "account": {"iban": "FR1420041010050500013M02606"}, "country": "FR",
                      "address": {"street": "Rue de Rivoli", "town": "Paris"}}, **extra}


def key(user: str = "maker") -> dict[str, str]:
    return {"Idempotency-Key": f"k-{next(_keys)}", TEST_ACTOR_HEADER: user}


# Who acts (tests/support/auth.py): the approvers verified a TOTP code just now (fresh step-up).
# The maker may approve in general (approver too), so approving their own order is refused by SOD.
PEOPLE = {"maker": person("maker", Role.OPERATOR, Role.APPROVER, step_up_at=Clock().now()),
          "checker": checker(Clock(), "checker"), "ops": checker(Clock(), "ops", Role.TREASURER)}


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> TestClient:
    app = create_app(engine=engine, settings=Settings(home=tmp_path, auto_release=False), clock=Clock())
    hub = app.state.hub
    install_policy(hub.uow, limit_policy(100_000), clock=Clock())  # up to 1,000.00 passes with no person
    with hub.uow() as uow:  # 10,000.00 EUR available on the payer account
        available = funds_codes(IBAN, hub.vault)[0]
        uow.ledger.ensure_account(code=available, currency="EUR", kind="asset", allow_overdraft=False)
        uow.ledger.ensure_account(code="equity:opening:EUR", currency="EUR", kind="equity")
        money = Money.parse("10000.00", "EUR")
        uow.ledger.post(idempotency_key="opening", postings=[(available, money), ("equity:opening:EUR", -money)],
                        memo="opening", actor="test", at=Clock().now())
        uow.commit()
    acting_by_header(app, PEOPLE, default="maker")
    return TestClient(app, raise_server_exceptions=False)


def create(client: TestClient, **kw: Any) -> dict[str, Any]:
    response = client.post(URL, json=order_body(**kw), headers=key())
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def error(response: Any) -> dict[str, Any]:
    return response.json()["error"]  # type: ignore[no-any-return]


# --- create ----------------------------------------------------------------------------------
def test_created_order_comes_back_with_decimal_string_amount_and_location(client: TestClient) -> None:
    response = client.post(URL, json=order_body(), headers=key())
    order = response.json()
    assert response.status_code == 201
    assert response.headers["location"] == f"{URL}/{order['id']}"
    assert order["amount"] == "2500.00" and order["state"] == "PENDING_APPROVAL"
    assert order["payee"]["account"] == {"scheme": "IBAN", "iban": None, "number": None, "cnaps": None,
                                         "masked": "FR14*******************2606"}  # POST replies are stored masked
    assert order["end_to_end_id"].startswith("E") and order["created_by"] == "maker"


def test_a_cn_domestic_order_is_accepted(client: TestClient) -> None:
    body = order_body(amount="5000.00", currency="CNY")
    body["payer"] = {"name": "银企科技", "account": {"number": "6222021234567890", "cnaps": "102100099996"},
                     "currency": "CNY"}
    body["payee"] = {"name": "供应商", "account": {"number": "955880001234", "cnaps": "102290012345"},
                     "country": "CN"}
    response = client.post(URL, json=body, headers=key())
    assert response.status_code == 201, response.text
    assert response.json()["payee"]["account"] == {"scheme": "CN", "iban": None, "number": None,
                                                   "cnaps": "102290012345", "masked": "********1234"}


@pytest.mark.parametrize("amount", [12.5, 1250, True, None])
def test_a_json_number_amount_is_refused_with_a_clear_error(client: TestClient, amount: Any) -> None:
    response = client.post(URL, json=order_body(amount=amount), headers=key())
    assert response.status_code == 422
    problem = error(response)["problems"][0]
    assert (problem["code"], problem["where"], problem["rule"]) == ("AMOUNT_INVALID", "amount", "decimal_string")
    assert "decimal string" in problem["message"]


def test_missing_and_unknown_fields_are_each_named(client: TestClient) -> None:
    body = order_body(ammount="1.00")
    del body["payee"]["name"]
    response = client.post(URL, json=body, headers=key())
    found = {(p["code"], p["where"]) for p in error(response)["problems"]}
    assert found == {("FIELD_UNKNOWN", "ammount"), ("FIELD_REQUIRED", "payee.name")}


def test_malformed_json_is_a_validation_failure(client: TestClient) -> None:
    response = client.post(URL, content=b'{"serial": ', headers={**key(), "Content-Type": "application/json"})
    assert response.status_code == 422 and error(response)["problems"][0]["code"] == "BODY_INVALID"


def test_business_rules_are_reported_all_at_once(client: TestClient) -> None:
    body = order_body(amount="0", serial="bad serial", remittance_info="R" * 141,
                      requested_execution_date="2030-01-09")
    response = client.post(URL, json=body, headers=key())
    assert error(response)["code"] == "VALIDATION_FAILED"
    assert {p["where"] for p in error(response)["problems"]} == {"amount", "serial", "remittance_info",
                                                                 "requested_execution_date"}


def test_a_duplicate_serial_with_a_new_key_cites_the_existing_order(client: TestClient) -> None:
    first = create(client)
    response = client.post(URL, json=order_body(amount="1.00"), headers=key())
    assert response.status_code == 409
    assert error(response)["code"] == "DUPLICATE_SERIAL"
    assert error(response)["details"]["existing_order_id"] == first["id"]


# --- actions -----------------------------------------------------------------------------------
def test_maker_cannot_approve_but_a_checker_can_then_release(client: TestClient) -> None:
    order = create(client)
    own = client.post(f"{URL}/{order['id']}/approve", headers=key("maker"))
    assert own.status_code == 403 and error(own)["code"] == "SOD_SELF_APPROVAL"
    approved = client.post(f"{URL}/{order['id']}/approve", headers=key("checker"))
    assert approved.status_code == 200 and approved.json()["state"] == "APPROVED"
    released = client.post(f"{URL}/{order['id']}/release", headers=key("ops"))
    assert released.json()["state"] == "RELEASED"
    late = client.post(f"{URL}/{order['id']}/cancel", json={"reason": "too late"}, headers=key())
    assert late.status_code == 409 and error(late)["code"] == "ORDER_ILLEGAL_TRANSITION"


def test_reject_needs_a_reason(client: TestClient) -> None:
    order = create(client)
    missing = client.post(f"{URL}/{order['id']}/reject", json={}, headers=key("checker"))
    assert missing.status_code == 422 and error(missing)["problems"][0]["where"] == "reason"
    rejected = client.post(f"{URL}/{order['id']}/reject", json={"reason": "unknown payee"}, headers=key("checker"))
    assert rejected.json()["state"] == "REJECTED"


def test_an_auto_approved_order_can_be_cancelled(client: TestClient) -> None:
    order = create(client, amount="10.00")
    assert order["state"] == "APPROVED"
    cancelled = client.post(f"{URL}/{order['id']}/cancel", json={"reason": "dup"}, headers=key())
    assert cancelled.json()["state"] == "CANCELLED"


def test_actions_on_an_unknown_order_are_404(client: TestClient) -> None:
    response = client.post(f"{URL}/nope/approve", headers=key("checker"))
    assert response.status_code == 404 and error(response)["code"] == "ORDER_NOT_FOUND"


# --- queries -----------------------------------------------------------------------------------
def test_get_list_and_events(client: TestClient) -> None:
    ids = [create(client, serial=f"L-{i}")["id"] for i in range(3)]
    one = client.get(f"{URL}/{ids[0]}")
    assert one.status_code == 200 and one.json()["serial"] == "L-0"
    page = client.get(URL, params={"company_id": "ACME", "state": "PENDING_APPROVAL", "limit": 2}).json()
    rest = client.get(URL, params={"company_id": "ACME", "limit": 2, "cursor": page["next_cursor"]}).json()
    assert {o["id"] for o in page["items"] + rest["items"]} == set(ids) and rest["next_cursor"] is None
    events = client.get(f"{URL}/{ids[0]}/events").json()
    assert events["chain_verified"] is True
    assert [e["kind"] for e in events["items"]] == ["OrderCreated", "OrderValidated", "OrderSubmittedForApproval"]
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(events["items"]))


@pytest.mark.parametrize("params", [{"state": "NOPE"}, {"cursor": "!!"}, {"limit": 0}, {"limit": 1000},
                                    {"company_id": "a\x00b"}, {"cursor": "bnVsbFx4MDA="},
                                    {"cursor": "MjAzMC0wMS0xMFQwOTowMDowMCswMDowMHwA"}])
def test_bad_query_parameters_are_validation_failures(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get(URL, params=params)
    assert response.status_code == 422 and error(response)["code"] == "VALIDATION_FAILED"


def test_unknown_order_is_404_and_a_malformed_id_422(client: TestClient) -> None:
    assert client.get(f"{URL}/nope").status_code == 404
    assert client.get(f"{URL}/nope/events").status_code == 404
    assert client.get(f"{URL}/a%00b").status_code == 422


def test_openapi_documents_the_request_body_and_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"][URL]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert "amount" in schema["properties"] and schema.get("examples")
    assert "Idempotency-Key" in {p["name"] for p in post["parameters"]}
    assert "X-Yinqi-User" not in {p["name"] for p in post["parameters"]}  # who acts comes from the token
    assert "/api/v1/payment-orders/{order_id}/approve" in spec["paths"]


def test_an_unexpected_error_is_a_generic_500_with_a_correlation_id(client: TestClient) -> None:
    class BrokenClock:
        def now(self) -> datetime:
            raise RuntimeError("SELECT secret FROM internals")

    client.app.state.hub.clock = BrokenClock()  # type: ignore[attr-defined]
    response = client.post(URL, json=order_body(), headers=key())
    assert response.status_code == 500
    body = error(response)
    assert body["code"] == "INTERNAL_ERROR" and len(body["correlation_id"]) == 32
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.headers["x-correlation-id"] == body["correlation_id"]


# --- fuzz --------------------------------------------------------------------------------------
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=4), max_leaves=12)
FIELDS = ["company_id", "serial", "amount", "currency", "requested_execution_date", "urgency", "purpose_code",
          "remittance_info", "end_to_end_id", "payer", "payee"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON)
def test_arbitrary_json_never_yields_a_500(client: TestClient, body: Any) -> None:
    response = client.post(URL, content=json.dumps(body).encode(), headers=key())
    assert response.status_code < 500, response.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=JSON, serial=st.text(min_size=1, max_size=40))
def test_a_valid_body_with_one_field_replaced_never_yields_a_500(client: TestClient, field: str, value: Any,
                                                                  serial: str) -> None:
    body = order_body(serial=serial)
    body[field] = value
    response = client.post(URL, content=json.dumps(body).encode(), headers=key())
    assert response.status_code < 500, response.text


NESTED = [("payer", "name"), ("payer", "account"), ("payer", "currency"), ("payer", "bic"), ("payee", "name"),
          ("payee", "account"), ("payee", "country"), ("payee", "bic"), ("payee", "address")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(NESTED), value=JSON | st.text(max_size=50), serial=st.from_regex(r"[A-Z0-9]{1,20}",
                                                                                             fullmatch=True))
def test_a_valid_body_with_one_nested_field_replaced_never_yields_a_500(
        client: TestClient, where: tuple[str, str], value: Any, serial: str) -> None:
    body = order_body(serial=serial)
    body[where[0]][where[1]] = value
    response = client.post(URL, content=json.dumps(body).encode(), headers=key())
    assert response.status_code < 500, response.text


def test_insufficient_funds_names_the_field_and_never_the_full_account_number(client: TestClient) -> None:
    response = client.post(URL, json=order_body(serial="BIG-1", amount="999.00"), headers=key())
    assert response.status_code == 201  # within funds
    approve = client.post(f"{URL}/{create(client, serial='BIG-2', amount='20000.00')['id']}/approve",
                          headers=key("checker"))
    assert approve.status_code == 422
    body = error(approve)
    assert body["code"] == "INSUFFICIENT_FUNDS" and body["where"] == "payer.account"
    assert IBAN not in approve.text and IBAN[-4:] in body["message"]
