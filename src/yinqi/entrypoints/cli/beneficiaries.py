"""`yinqi beneficiaries …`: payee master data from the command line.

`list --as USER [--json]`, `propose --as USER --name … (--iban … | --number … --cnaps …) --country …
[--bic …] [--town …] [--company …]` (a new beneficiary), `propose --beneficiary ID --iban …` (an account
change), `approve CHANGE_ID --as USER`, `reject CHANGE_ID --as USER --reason …`. The user acts with
their own roles and companies (`beneficiary.read`, `.propose`, `.approve`); the proposer of a change
cannot approve it. Accounts are masked unless the user may `account.reveal`. Exit codes: 0 done,
1 refused (the refusal is in the audit trail), 2 unknown or inactive user.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from yinqi.application import audit
from yinqi.application import beneficiaries as cases
from yinqi.application.identity_base import principal_of
from yinqi.bootstrap import Hub, build_hub
from yinqi.config import load_settings
from yinqi.domain.identity.permissions import Permission, allowed
from yinqi.domain.identity.principal import Channel, Principal
from yinqi.domain.orders.commands import AccountInput, AddressInput
from yinqi.domain.problems import DomainError, ValidationFailed

app = typer.Typer(help="Beneficiaries: payee master data with four-eyes changes.", no_args_is_help=True)
console = Console()

AsOpt = Annotated[str, typer.Option("--as", help="The acting user.")]
DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default: YINQI_DB or the home's SQLite).")]


def _principal(hub: Hub, username: str) -> Principal:
    with hub.uow() as uow:
        user = uow.identity.find_user(username.strip())
    if user is None or user.disabled:
        _fail(f"{username!r} is not an active user", 2)
    return principal_of(user, channel=Channel.CLI, source_address="cli")


def _fail(message: str, code: int) -> NoReturn:
    Console(stderr=True).print(f"[red]{message}[/red]")
    raise typer.Exit(code)


def _refused(hub: Hub, principal: Principal, exc: DomainError, *, action: str, object_id: str | None) -> NoReturn:
    if not isinstance(exc, ValidationFailed):
        audit.record_refusal(hub.uow, principal=principal, action=action, object_type=cases.OBJECT,
                             object_id=object_id, at=hub.clock.now(), error=exc)
    problems = getattr(exc, "problems", [])
    details = "".join(f"\n  {p.where}: {p.code}: {p.message}" for p in problems)
    _fail(f"{exc.code}: {exc.message}{details}", 1)


@app.command("list")
def list_command(as_user: AsOpt, as_json: Annotated[bool, typer.Option("--json")] = False, db: DbOpt = None) -> None:
    """Beneficiaries of your companies, with pending changes (old → new account)."""
    hub = build_hub(load_settings(db=db))
    principal = _principal(hub, as_user)
    reveal = allowed(principal, Permission.ACCOUNT_REVEAL)
    try:
        with hub.uow() as uow:
            listings = cases.list_beneficiaries(uow=uow, principal=principal)
    except DomainError as exc:
        _refused(hub, principal, exc, action="beneficiary.read", object_id=None)
    rows = [{**cases.beneficiary_view(x.beneficiary, reveal=reveal),
             "pending_change": cases.change_view(x.pending, reveal=reveal) if x.pending else None} for x in listings]
    if as_json:
        typer.echo(json.dumps({"items": rows}, ensure_ascii=False, indent=2))
        return
    table = Table("id", "company", "name", "account", "status", "pending change")
    for r in rows:
        table.add_row(r["id"], r["company_id"], r["name"], r["account"]["number"], r["status"],
                      (r["pending_change"] or {}).get("id", ""))
    console.print(table)
    for r in rows:  # unwrapped, so the accounts can be read (and copied) whole
        if (change := r["pending_change"]) is not None:
            old = (change["old_account"] or {}).get("number", "(new beneficiary)")
            typer.echo(f"pending {change['id']} ({change['kind']}, by {change['proposed_by']}) {r['name']}: "
                       f"{old} → {change['new_account']['number']}")


@app.command("propose")
def propose_command(as_user: AsOpt,
                    beneficiary: Annotated[str | None, typer.Option(help="Change this beneficiary's account.")] = None,
                    name: Annotated[str, typer.Option(help="Name of a new beneficiary.")] = "",
                    iban: Annotated[str | None, typer.Option(help="IBAN.")] = None,
                    number: Annotated[str | None, typer.Option(help="Chinese domestic account number.")] = None,
                    cnaps: Annotated[str | None, typer.Option(help="12-digit CNAPS bank code.")] = None,
                    bic: Annotated[str | None, typer.Option(help="BIC of the beneficiary's bank.")] = None,
                    country: Annotated[str, typer.Option(help="ISO country of the beneficiary.")] = "",
                    town: Annotated[str | None, typer.Option(help="Town of the beneficiary.")] = None,
                    company: Annotated[str | None, typer.Option(help="Company (default: the configured one).")] = None,
                    reason: Annotated[str, typer.Option(help="Why (shown to the approver).")] = "",
                    db: DbOpt = None) -> None:
    """Propose a new beneficiary, or (with --beneficiary) a new account for one; another user approves."""
    hub = build_hub(load_settings(db=db))
    principal = _principal(hub, as_user)
    account = AccountInput(iban=iban, number=number, cnaps=cnaps)
    action = "beneficiary.change.propose" if beneficiary else "beneficiary.propose"
    try:
        with hub.uow() as uow:
            if beneficiary:
                change = cases.propose_change(uow=uow, clock=hub.clock, principal=principal,
                                              beneficiary_id=beneficiary, account=account, bic=bic, reason=reason)
            else:
                change = cases.propose_beneficiary(
                    uow=uow, clock=hub.clock, principal=principal, company_id=company or hub.settings.company_id,
                    name=name, account=account, country=country, bic=bic,
                    address=AddressInput(town=town) if town else None, reason=reason)
    except DomainError as exc:
        _refused(hub, principal, exc, action=action, object_id=beneficiary)
    console.print(f"proposed change {change.id} ({change.kind.value}) of beneficiary {change.beneficiary_id}; "
                  f"waiting for another user's approval")


@app.command("approve")
def approve_command(change_id: Annotated[str, typer.Argument(help="The change to approve.")], as_user: AsOpt,
                    db: DbOpt = None) -> None:
    """Approve a proposed beneficiary or account change (not your own)."""
    hub = build_hub(load_settings(db=db))
    principal = _principal(hub, as_user)
    try:
        with hub.uow() as uow:
            b = cases.approve_change(uow=uow, clock=hub.clock, principal=principal, change_id=change_id,
                                     cooling_off=timedelta(hours=hub.settings.beneficiary_cooling_off_hours))
    except DomainError as exc:
        _refused(hub, principal, exc, action="beneficiary.change.approve", object_id=change_id)
    until = f"; payments to it are held until {b.cooling_off_until.isoformat()}" if b.cooling_off_until else ""
    console.print(f"approved: beneficiary {b.id} {b.name} is {b.status.value} with account {b.account.masked}{until}")


@app.command("reject")
def reject_command(change_id: Annotated[str, typer.Argument(help="The change to reject.")], as_user: AsOpt,
                   reason: Annotated[str, typer.Option(help="Why (required).")], db: DbOpt = None) -> None:
    """Reject a proposed beneficiary or account change."""
    hub = build_hub(load_settings(db=db))
    principal = _principal(hub, as_user)
    try:
        with hub.uow() as uow:
            b = cases.reject_change(uow=uow, clock=hub.clock, principal=principal, change_id=change_id,
                                    reason=reason)
    except DomainError as exc:
        _refused(hub, principal, exc, action="beneficiary.change.reject", object_id=change_id)
    console.print(f"rejected: beneficiary {b.id} {b.name} is {b.status.value} with account {b.account.masked}")

