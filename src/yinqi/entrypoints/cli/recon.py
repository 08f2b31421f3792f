"""`yinqi recon …`: reconcile stored bank statement entries against open payment orders.

`run [--account ID] [--dry-run] [--json]` matches every unmatched stored entry (of one account,
with --account) against the open (SENT / ACCEPTED) orders and settles what may be booked
unattended. `--dry-run` shows what would be matched and why and commits nothing. `--json` prints
matches (entries, orders, rule, confidence, reasons), suggestions, discrepancies and unmatched
counts. Exit codes: 0 the run completed (suggestions and discrepancies are data, not failures);
2 the run could not start (no database, no key).

The exceptions queue (`recon_queue`, `recon_decisions`): `exceptions [--as USER] [--json]` lists
unmatched lines and orders, suggestions and active groups (without --as: the hub's own view, every
company); `match --as USER (--suggestion ID | --entry N … --order ID …) [--reason …]` accepts a
suggestion or matches by hand; `reject SUGGESTION --as USER [--reason …]`; `unmatch GROUP --as USER
--reason …`; `write-off --as USER --entry N … --reason …`. Deciding needs `recon.resolve`.
`checks [--account ID] [--json]` lists the statement breaks (ADR 0007 "Statement checks").
Exit codes: 0 done, 1 refused (refusals are in the audit trail), 2 unknown user or no database.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from yinqi.adapters.crypto.keys import KeyFileError
from yinqi.application import audit
from yinqi.application import recon_decisions as decisions
from yinqi.application.identity_base import principal_of
from yinqi.application.recon_queue import group_dict, list_exceptions, queue_dict
from yinqi.application.reconciliation import ReconciliationRun, run_reconciliation
from yinqi.application.statement_checks import list_breaks
from yinqi.bootstrap import Hub, build_hub
from yinqi.config import load_settings
from yinqi.domain.identity.principal import Channel, Principal
from yinqi.domain.problems import DomainError, ValidationFailed
from yinqi.domain.reconciliation.model import Match

app = typer.Typer(help="Reconciliation: statement entries against open payment orders.", no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: YINQI_DB or YINQI_HOME).")]
AccountOption = Annotated[str | None, typer.Option("--account", help="Only this account (IBAN or account id).")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show what would be matched; commit nothing.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON report instead of text.")]
AsOption = Annotated[str, typer.Option("--as", help="The acting user (needs recon.resolve).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the group and the audit trail).")]
EntryOption = Annotated[list[int] | None, typer.Option("--entry", help="A statement line id (repeat for several).")]


@app.callback()
def _family() -> None:
    """Reconciliation: statement entries against open payment orders."""


@app.command("run")
def run_command(account: AccountOption = None, dry_run: DryRunOption = False, as_json: JsonOption = False,
                db: DbOption = None) -> None:
    """Match unmatched statement entries to open orders and settle the automatic matches."""
    try:
        hub = build_hub(load_settings(db=db))
        run = run_reconciliation(uow_factory=hub.uow, clock=hub.clock, account=account, dry_run=dry_run)
    except (KeyFileError, SQLAlchemyError) as exc:
        typer.echo(f"yinqi recon run: cannot run: {exc.__class__.__name__}: {str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(run.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print(run)


def _print(run: ReconciliationRun) -> None:
    console = Console()
    verb = "would settle" if run.dry_run else "settled"
    console.print(f"{run.entries} unmatched entries, {run.open_orders} open orders"
                  f"{' (dry run: nothing committed)' if run.dry_run else ''}")
    for title, matches in ((f"matches ({verb})", run.booked), ("suggestions (for a person)", run.suggestions)):
        if matches:
            console.print(_table(title, matches))
    for d in run.discrepancies:
        console.print(f"discrepancy {d.code.value}: entries {list(d.line_ids)} orders {list(d.item_ids)}: {d.detail}")
    console.print(f"unmatched: {run.unmatched_entries} entries, {run.unmatched_orders} orders")


def _table(title: str, matches: list[Match]) -> Table:
    table = Table(title=title)
    for column in ("entries", "orders", "rule", "confidence", "reasons"):
        table.add_column(column)
    for m in matches:
        table.add_row(",".join(map(str, m.line_ids)), ",".join(m.item_ids), f"{m.rule.value} {m.strategy.value}",
                      f"{m.confidence:.2f}", "; ".join(map(str, m.reasons)))
    return table


# --- the exceptions queue ---------------------------------------------------------------------
def _hub(db: str | None) -> Hub:
    try:
        return build_hub(load_settings(db=db))
    except (KeyFileError, SQLAlchemyError) as exc:
        _fail(f"cannot start: {exc.__class__.__name__}: {str(exc).splitlines()[0]}", 2)


def _principal(hub: Hub, username: str | None) -> Principal:
    if username is None:
        return Principal.system("cli")
    with hub.uow() as uow:
        user = uow.identity.find_user(username.strip())
    if user is None or user.disabled:
        _fail(f"{username!r} is not an active user", 2)
    return principal_of(user, channel=Channel.CLI, source_address="cli")


def _fail(message: str, code: int) -> NoReturn:
    Console(stderr=True).print(f"[red]{message}[/red]")
    raise typer.Exit(code)


def _decide(hub: Hub, principal: Principal, action: str, object_id: str | None, case: Any, **kwargs: Any) -> None:
    """Run one decision; print the group it appended, or the refusal (audited) and exit 1."""
    try:
        with hub.uow() as uow:
            group = case(uow=uow, clock=hub.clock, principal=principal, home_company=hub.settings.company_id,
                         **kwargs)
    except DomainError as exc:
        if not isinstance(exc, ValidationFailed):
            audit.record_refusal(hub.uow, principal=principal, action=action, object_type=decisions.OBJECT,
                                 object_id=object_id, at=hub.clock.now(), error=exc)
        _fail(f"{exc.code}: {exc.message} ({exc.where})", 1)
    view = group_dict(group)
    typer.echo(f"match group {view['group_id']} {view['status']} {view['strategy']}: entries "
               f"{[e['entry_id'] for e in view['entries']]} orders {[o['order_id'] for o in view['orders']]}"
               f"{' fee ' + view['fee'] if group.fee_minor else ''}")


@app.command("exceptions")
def exceptions_command(as_user: Annotated[str | None, typer.Option("--as", help="Read as this user.")] = None,
                       as_json: JsonOption = False, db: DbOption = None) -> None:
    """Unmatched statement lines and orders, the engine's suggestions, the active match groups."""
    hub = _hub(db)
    principal = _principal(hub, as_user)
    try:
        with hub.uow() as uow:
            view = queue_dict(list_exceptions(uow=uow, principal=principal, home_company=hub.settings.company_id))
    except DomainError as exc:
        _fail(f"{exc.code}: {exc.message}", 1)
    if as_json:
        typer.echo(json.dumps(view, indent=2, ensure_ascii=False))
        return
    console = Console()
    console.print(_rows("unmatched statement lines", ("entry", "amount", "date", "reference", "reasons"),
                        [(str(x["entry_id"]), f"{x['amount']} {x['currency']}", x["value_date"] or "",
                          x["bank_reference"] or "", "; ".join(x["reasons"])) for x in view["lines"]]))
    console.print(_rows("unmatched orders", ("order", "serial", "amount", "state", "why"),
                        [(x["order_id"], x["serial"], f"-{x['amount']} {x['currency']}", x["state"], x["reason"])
                         for x in view["items"]]))
    console.print(_rows("suggestions", ("suggestion", "entries", "orders", "confidence", "reasons"),
                        [(x["id"], ",".join(map(str, x["entry_ids"])), ",".join(x["order_ids"]),
                          f"{x['confidence']:.2f}", "; ".join(x["reasons"])) for x in view["suggestions"]]))
    console.print(_rows("match groups", ("group", "status", "strategy", "entries", "orders"),
                        [(g["group_id"], g["status"], g["strategy"], ",".join(str(e["entry_id"]) for e in g["entries"]),
                          ",".join(o["order_id"] for o in g["orders"])) for g in view["groups"]]))


def _rows(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    table = Table(title=f"{title} ({len(rows)})")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


@app.command("match")
def match_command(as_user: AsOption, suggestion: Annotated[str | None, typer.Option(
                      "--suggestion", help="Accept this suggestion (an id from `recon exceptions`).")] = None,
                  entry: EntryOption = None,
                  order: Annotated[list[str] | None, typer.Option("--order", help="An order id (repeat).")] = None,
                  reason: ReasonOption = "", db: DbOption = None) -> None:
    """Accept a suggestion, or match statement lines and orders by hand (1:1, 1:N, N:1, M:N)."""
    hub = _hub(db)
    principal = _principal(hub, as_user)
    if suggestion:
        _decide(hub, principal, "recon.match.accept", suggestion, decisions.accept_suggestion,
                suggestion_id=suggestion, reason=reason)
    else:
        _decide(hub, principal, "recon.match.manual", None, decisions.match_manually, entry_ids=entry or [],
                order_ids=order or [], reason=reason)


@app.command("reject")
def reject_command(suggestion: Annotated[str, typer.Argument(help="The suggestion's id.")], as_user: AsOption,
                   reason: ReasonOption = "", db: DbOption = None) -> None:
    """Reject a suggestion: it is not shown again; its lines and orders stay in the queue."""
    hub = _hub(db)
    _decide(hub, _principal(hub, as_user), "recon.match.reject", suggestion, decisions.reject_suggestion,
            suggestion_id=suggestion, reason=reason)


@app.command("unmatch")
def unmatch_command(group: Annotated[str, typer.Argument(help="The match group's id.")], as_user: AsOption,
                    reason: ReasonOption = "", db: DbOption = None) -> None:
    """Take a match group apart (a new group supersedes it); its fee or write-off is reversed."""
    hub = _hub(db)
    _decide(hub, _principal(hub, as_user), "recon.unmatch", group, decisions.unmatch, group_id=group, reason=reason)


@app.command("write-off")
def write_off_command(as_user: AsOption, entry: EntryOption = None, reason: ReasonOption = "",
                      db: DbOption = None) -> None:
    """Book statement lines to the write-off account (expenses:recon-write-off:<CCY>); reason required."""
    hub = _hub(db)
    _decide(hub, _principal(hub, as_user), "recon.write_off", None, decisions.write_off, entry_ids=entry or [],
            reason=reason)


@app.command("checks")
def checks_command(account: AccountOption = None, as_json: JsonOption = False, db: DbOption = None) -> None:
    """Open statement breaks (opening ≠ previous closing, sequence gaps, entries that do not add up,
    bank ≠ ledger), newest first, each with its amount. The hub's own view: every company."""
    hub = _hub(db)
    with hub.uow() as uow:
        rows = list_breaks(uow=uow, principal=None, home_company=hub.settings.company_id, account=account)
    if as_json:
        typer.echo(json.dumps({"breaks": rows}, indent=2, ensure_ascii=False))
        return
    Console().print(_rows("open statement breaks", ("statement", "account", "check", "amount", "expected", "actual"),
                          [(r["statement_id"], r["account"], r["code"],
                            f"{r['amount']} {r['currency']}" if r["amount"] is not None else "",
                            r["expected"], r["actual"]) for r in rows]))
