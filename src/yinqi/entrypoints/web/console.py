"""The web console: server-rendered pages over the same use cases as the API.

Every page needs a signed-in user (`ConsolePrincipal`; without a session it redirects to /login).
Forms carry a CSRF token bound to the session (`yinqi.entrypoints.web.csrf`); no state changes on
GET.
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from yinqi.application import order_queries, routing
from yinqi.application import orders as order_cases
from yinqi.bootstrap import Hub
from yinqi.domain.identity.permissions import Permission, allowed, require
from yinqi.domain.identity.principal import Forbidden, Principal
from yinqi.domain.orders.commands import AccountInput, CreateOrder, PayeeInput, PayerInput
from yinqi.domain.orders.order import PaymentOrder
from yinqi.domain.problems import DomainError, ValidationFailed
from yinqi.entrypoints.web import csrf
from yinqi.entrypoints.web.session import ConsolePrincipal, console_principal

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
NO_STORE = {"Cache-Control": "no-store"}


def _can(principal: Principal | None, permission: str) -> bool:
    """For templates: show a link or button only to whom the page behind it would not answer 403."""
    return principal is not None and allowed(principal, Permission(permission))


TEMPLATES.env.globals["can"] = _can


def order_view(o: PaymentOrder, *, reveal: bool = False) -> dict[str, Any]:
    """Account numbers masked unless the viewer has `account.reveal` (R18)."""
    payee, payer = (o.payee.account.number, o.payer.account.number) if reveal else (o.payee.account.masked,
                                                                                     o.payer.account.masked)
    return {"id": o.id, "serial": o.serial.value, "payee_name": o.payee.name, "payee_account": payee,
            "payee_bank": o.payee.bic.value if o.payee.bic else o.payee.account.bank_code,
            "payer_name": o.payer.name, "payer_account": payer,
            "amount": o.amount.format(), "currency": o.amount.currency,
            "execution_date": o.requested_execution_date.isoformat(), "state": o.state.value,
            "end_to_end_id": o.end_to_end_id.value, "remittance": o.remittance_info,
            "created_at": o.created_at.strftime("%Y-%m-%d %H:%M:%S")}


def _postings(uow: Any, order_id: str) -> list[dict[str, Any]]:
    rows = []
    for step in ("reserve", "unreserve", "settle"):
        recorded = uow.ledger.find_by_key(f"order:{order_id}:{step}")
        if recorded is None:
            continue
        for p in recorded.entry.postings:
            rows.append({"seq": recorded.seq, "memo": recorded.entry.memo, "account": p.account,
                         "debit": p.amount.format() if p.amount.minor > 0 else "",
                         "credit": (-p.amount).format() if p.amount.minor < 0 else ""})
    return rows


def _route(hub: Hub, uow: Any, order_id: str) -> dict[str, Any]:
    """The route card: the decision as of now (`error` set when the channel config is invalid)."""
    try:
        report = routing.explain_order_route(uow=uow, order_id=order_id, channels=hub.settings.routing_channels(),
                                             now=hub.clock.now())
    except DomainError as exc:
        return {"error": f"{exc.code}: {exc.message}", "chosen": None, "alternatives": [], "sent": None}
    return {"error": None, **routing.report_dict(report)}


def build_router(hub: Hub) -> APIRouter:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(console_principal)])  # signed in only

    def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, name, context, status_code=status, headers=NO_STORE)

    @router.get("/")
    def index() -> RedirectResponse:
        return RedirectResponse("/orders", status_code=303)

    @router.get("/orders", response_class=HTMLResponse)
    def orders_page(request: Request, principal: ConsolePrincipal, state: str | None = None) -> HTMLResponse:
        with hub.uow() as uow:
            orders = order_queries.list_orders(uow=uow, principal=principal, state=state, limit=200)
        counts: dict[str, int] = {}
        for o in orders:
            counts[o.state.value] = counts.get(o.state.value, 0) + 1
        return render(request, "orders.html", {"section": "orders", "orders": [order_view(o) for o in orders],
                                               "counts": sorted(counts.items())})

    @router.get("/orders/new", response_class=HTMLResponse)
    def new_order_page(request: Request, principal: ConsolePrincipal) -> HTMLResponse:
        require(principal, Permission.ORDER_CREATE)
        return _form(request, render, hub, form=_default_form(hub), problems=[])

    @router.post("/orders/new")
    def create_from_form(request: Request, principal: ConsolePrincipal, csrf_token: str = Form(""),
                         idempotency_key: str = Form(""),
                         serial: str = Form(""), payer_account: str = Form(""), payee_name: str = Form(""),
                         payee_iban: str = Form(""), payee_bic: str = Form(""), payee_country: str = Form(""),
                         amount: str = Form(""), currency: str = Form(""), execution_date: str = Form(""),
                         remittance: str = Form("")) -> Response:
        csrf.check(request, csrf_token)
        require(principal, Permission.ORDER_CREATE)  # before the form's own checks: a refusal never depends on it
        form = {"serial": serial, "payer_account": payer_account, "payee_name": payee_name, "payee_iban": payee_iban,
                "payee_bic": payee_bic, "payee_country": payee_country, "amount": amount, "currency": currency,
                "execution_date": execution_date, "remittance": remittance}
        try:
            order = _create(hub, form, principal)
        except ValidationFailed as exc:
            return _form(request, render, hub, form=form, problems=[p.as_dict() for p in exc.problems], status=422)
        except Forbidden:
            raise  # the console's 403 page (entrypoints/web/errors.py), audited there
        except DomainError as exc:
            return _form(request, render, hub, form=form, problems=[exc.as_problem().as_dict()], status=422)
        return RedirectResponse(f"/orders/{order.id}", status_code=303)

    @router.get("/orders/{order_id}", response_class=HTMLResponse)
    def order_page(request: Request, order_id: str, principal: ConsolePrincipal) -> HTMLResponse:
        with hub.uow() as uow:
            order = order_queries.get_order(uow=uow, principal=principal, order_id=order_id)  # 404: another company's
            events = [{"seq": e.seq, "from_state": e.from_state.value if e.from_state else None,
                       "to_state": e.to_state.value, "actor": e.actor, "reason": e.reason,
                       "at": e.at.strftime("%Y-%m-%d %H:%M:%S")} for e in uow.orders.events(order_id)]
            bank = uow.bank_messages.item_for_order(order_id)
            match = uow.statements.match_for_order(order_id)
            postings = _postings(uow, order_id)
            route = _route(hub, uow, order_id)
            from yinqi.entrypoints.web.approvals import approval_card  # it renders with this module's templates

            approval = approval_card(hub, uow, request, order)
        view = order_view(order, reveal=allowed(principal, Permission.ACCOUNT_REVEAL))
        response = render(request, "order.html", {"section": "orders", "o": view, "events": events,
                                                  "approval": approval, "bank": bank, "match": match,
                                                  "postings": postings, "route": route})
        if approval is not None:  # the card's approve / reject forms
            csrf.issue(request, response, approval["csrf_token"])
        return response

    @router.get("/ledger", response_class=HTMLResponse)
    def ledger_page(request: Request, principal: ConsolePrincipal) -> HTMLResponse:
        require(principal, Permission.LEDGER_READ)
        with hub.uow() as uow:
            balances = uow.ledger.balances()
            trial = uow.ledger.trial_balance()
            head = uow.ledger.head() if hasattr(uow.ledger, "head") else None
        rows = [{"account": code, "kind": code.split(":", 1)[0], "currency": m.currency, "balance": m.format()}
                for code, m in sorted(balances.items())]
        chain = {"count": head[0] if head else "?", "head": head[1].hex()[:16] + "…" if head else "?"}
        return render(request, "ledger.html", {"section": "ledger", "balances": rows, "chain": chain,
                                               "trial": sorted(trial.items())})

    @router.get("/statements", response_class=HTMLResponse)
    def statements_page(request: Request, principal: ConsolePrincipal) -> HTMLResponse:
        require(principal, Permission.STATEMENT_READ)  # no company on statements yet: docs/security.md
        with hub.uow() as uow:
            statements = uow.statements.list_statements()
        reveal = allowed(principal, Permission.ACCOUNT_REVEAL)
        views = [statement_view(s, reveal=reveal) for s in statements]
        return render(request, "statements.html", {"section": "statements", "statements": views})

    @router.get("/statements/{statement_pk}", response_class=HTMLResponse)
    def statement_page(request: Request, statement_pk: int, principal: ConsolePrincipal) -> HTMLResponse:
        require(principal, Permission.STATEMENT_READ)  # no company on statements yet: docs/security.md
        with hub.uow() as uow:
            statement = uow.statements.statement(statement_pk)
            if statement is None:
                raise HTTPException(404, "no such statement")
            entries = uow.statements.entries_with_matches(statement_pk)
            checks = uow.statement_checks.check_of(statement_pk)
        warnings = json.loads(str(statement["warnings"]))
        reveal = allowed(principal, Permission.ACCOUNT_REVEAL)
        breaks = [statement_view({**b, "account": statement["account"], "account_number": statement["account_number"]},
                                 reveal=reveal) for b in (checks or {}).get("breaks", [])]
        statement = statement_view(statement, reveal=reveal)
        return render(request, "statement.html", {"section": "statements", "s": statement, "entries": entries,
                                                  "warnings": warnings, "checks": checks, "breaks": breaks})

    return router


def statement_view(s: dict[str, Any], *, reveal: bool) -> dict[str, Any]:
    """A stored statement for display: the account number clear with `account.reveal`, else masked,
    also where the bank wrote it into other fields (a camt `Stmt/Id` often starts with the IBAN)."""
    number, masked = str(s["account_number"]), str(s["account"])
    if reveal:
        return {**s, "account": number}
    hidden = {k: v.replace(number, masked) if isinstance(v, str) and number else v for k, v in s.items()}
    return {**hidden, "account_number": masked}


def _default_form(hub: Hub) -> dict[str, str]:
    first = hub.settings.accounts[0] if hub.settings.accounts else None
    return {"serial": f"WEB-{uuid.uuid4().hex[:8].upper()}", "payer_account": first.key if first else "",
            "payee_name": "", "payee_iban": "", "payee_bic": "", "payee_country": "",
            "amount": "", "currency": first.currency if first else "EUR",
            "execution_date": hub.clock.now().date().isoformat(), "remittance": ""}


def _form(request: Request, render: Any, hub: Hub, *, form: dict[str, str], problems: list[dict[str, Any]],
          status: int = 200) -> HTMLResponse:
    token = csrf.new_token(request)
    accounts = [{"account": a.key, "label": a.label} for a in hub.settings.accounts]
    response: HTMLResponse = render(request, "new_order.html", {
        "section": "new", "form": form, "problems": problems, "csrf_token": token, "payer_accounts": accounts,
        "idempotency_key": uuid.uuid4().hex}, status)
    csrf.issue(request, response, token)
    return response


def _create(hub: Hub, form: dict[str, str], principal: Principal) -> PaymentOrder:
    account = next((a for a in hub.settings.accounts if a.key == form["payer_account"]), None)
    if account is None:
        raise ValidationFailed([DomainError("choose one of the company's accounts", where="payer_account",
                                            rule="known_account").as_problem()])
    try:
        execution = date.fromisoformat(form["execution_date"])
    except ValueError:
        raise ValidationFailed([DomainError("not a date (YYYY-MM-DD)", where="execution_date",
                                            rule="iso_date", value=form["execution_date"]).as_problem()]) from None
    command = CreateOrder(
        company_id=hub.settings.company_id, serial=form["serial"].strip(),
        payer=PayerInput(name=account.name, account=AccountInput(iban=account.iban, number=account.number,
                                                                 cnaps=account.cnaps),
                         currency=account.currency, bic=account.bic),
        payee=PayeeInput(name=form["payee_name"].strip(), account=AccountInput(iban=form["payee_iban"].strip()),
                         country=form["payee_country"].strip().upper(), bic=form["payee_bic"].strip() or None),
        amount=form["amount"].strip(), currency=form["currency"].strip().upper(), requested_execution_date=execution,
        remittance_info=form["remittance"].strip() or None, source="console")
    with hub.uow() as uow:
        return order_cases.create_order(uow=uow, clock=hub.clock, principal=principal, command=command,
                                        auto_release=hub.settings.auto_release)
