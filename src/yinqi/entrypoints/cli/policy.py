"""`yinqi policy …`: the approval policy from the command line.

- `show [--json]`: the policy in force (version, sha256, author) and its document;
- `check FILE`: validate a policy document; every problem with its rule index and key;
- `load FILE --as ADMIN [--note …]`: store FILE as the next version (needs `policy.manage`; audited;
  applies to orders created from now on);
- `simulate RULES_FILE --since 30d [--json]`: replay the orders created since then against the
  proposed rules; per order the steps as planned and as proposed, and how many would change.

`show`, `check` and `simulate` read only and run as the operator of the database (like
`yinqi ledger verify`). Exit codes: 0 done (a simulation always exits 0: it is a report), 1 the
document is invalid or the action was refused (refusals are audited), 2 the hub could not start or
the user is unknown.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy.exc import SQLAlchemyError

from yinqi.adapters.crypto.keys import KeyFileError
from yinqi.application import approval_policy, audit
from yinqi.application.identity_base import principal_of
from yinqi.bootstrap import Hub, build_hub
from yinqi.config import load_settings
from yinqi.domain.approval.policy import PolicyInvalid
from yinqi.domain.identity.principal import Channel, Principal
from yinqi.domain.problems import DomainError

app = typer.Typer(help="Approval policy: show, check, load and simulate the approval rules.", no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: YINQI_DB or YINQI_HOME).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
FileArg = Annotated[Path, typer.Argument(help="A policy document (TOML).", exists=True, dir_okay=False)]
_SINCE = re.compile(r"(\d{1,5})([hdw])")
_UNIT = {"h": "hours", "d": "days", "w": "weeks"}
OPERATOR = Principal.system("policy-cli")


@app.callback()
def _family() -> None:
    """Approval policy: show, check, load and simulate the approval rules."""


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _hub(db: str | None) -> Hub:
    try:
        return build_hub(load_settings(db=db))
    except (KeyFileError, SQLAlchemyError) as exc:
        _fail(f"yinqi policy: cannot run: {exc.__class__.__name__}: {str(exc).splitlines()[0]}", 2)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {file}: {exc}", 1)


def _invalid(exc: PolicyInvalid) -> NoReturn:
    _fail("\n".join(f"POLICY_INVALID {p.message} (rule {p.rule})" for p in exc.problems), 1)


@app.command("show")
def show_command(as_json: JsonOption = False, db: DbOption = None) -> None:
    """Print the policy in force."""
    hub = _hub(db)
    with hub.uow() as uow:
        active = approval_policy.active_policy(uow)
    if as_json:
        typer.echo(json.dumps({**active.summary(), "document": active.document}, indent=2, ensure_ascii=False))
        return
    when = active.created_at.isoformat() if active.created_at else "built in"
    typer.echo(f"# approval policy version {active.version} by {active.created_by} ({when})\n"
               f"# sha256 {active.sha256}\n{active.document}")


@app.command("check")
def check_command(file: FileArg) -> None:
    """Validate FILE; exit 1 lists every problem with its rule index and key."""
    try:
        policy = approval_policy.check_policy(_read(file))
    except PolicyInvalid as exc:
        _invalid(exc)
    typer.echo(f"{file}: valid: {len(policy.rules)} rule(s), reporting currency {policy.reporting_currency}")


@app.command("load")
def load_command(file: FileArg, as_user: Annotated[str, typer.Option("--as", help="The acting admin.")],
                 note: Annotated[str, typer.Option("--note", help="Why the rules change.")] = "",
                 db: DbOption = None) -> None:
    """Store FILE as the next policy version (applies to new orders only)."""
    document = _read(file)
    hub = _hub(db)
    principal = _principal(hub, as_user)
    try:
        with hub.uow() as uow:
            active = approval_policy.put_policy(uow=uow, clock=hub.clock, principal=principal, document=document,
                                                note=note)
    except PolicyInvalid as exc:
        _invalid(exc)
    except DomainError as exc:
        audit.record_refusal(hub.uow, principal=principal, action="policy.change", object_type="approval_policy",
                             object_id=None, at=hub.clock.now(), error=exc)
        _fail(f"{exc.code}: {exc.message}", 1)
    typer.echo(f"approval policy version {active.version} is in force (sha256 {active.sha256})")


def _principal(hub: Hub, username: str) -> Principal:
    with hub.uow() as uow:
        user = uow.identity.find_user(username.strip())
    if user is None or user.disabled:
        _fail(f"{username!r} is not an active user", 2)
    return principal_of(user, channel=Channel.CLI, source_address="cli")


@app.command("simulate")
def simulate_command(rules_file: FileArg,
                     since: Annotated[str, typer.Option("--since", help="How far back: 12h, 30d, 8w.")] = "30d",
                     as_json: JsonOption = False, db: DbOption = None) -> None:
    """Replay the orders created since then against RULES_FILE and report what would change."""
    found = _SINCE.fullmatch(since.strip())
    if found is None:
        raise typer.BadParameter("use a number and h, d or w, e.g. 30d", param_hint="--since")
    document = _read(rules_file)
    hub = _hub(db)
    now = hub.clock.now()
    try:
        with hub.uow() as uow:
            result = approval_policy.simulate(uow=uow, principal=OPERATOR, document=document, now=now,
                                              since=now - timedelta(**{_UNIT[found.group(2)]: int(found.group(1))}))
    except PolicyInvalid as exc:
        _invalid(exc)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return
    for order in result.orders:
        mark = "*" if order.changed else " "
        old = "; ".join(order.as_dict()["old_steps"])
        new = "; ".join(order.as_dict()["new_steps"])
        typer.echo(f"{mark} {order.serial:<20} {order.amount:>16} {order.currency}  {old}  ->  {new}")
    s = result.summary()
    typer.echo(f"{s['orders']} order(s) since {result.since:%Y-%m-%d %H:%M}: {s['different']} would need different "
               f"approvals ({s['more_approvals']} more, {s['fewer_approvals']} fewer); auto-approved "
               f"{s['auto_before']} before, {s['auto_after']} after")
