"""`yinqi audit …`: verify the audit trail's hash chain and list its events.

Exit codes: 0 intact; 1 the chain failed verification (the message names the first broken seq and
why); 2 the command could not run (no database, no key, an unreadable filter). The chain's key is
derived from the ledger's HMAC key in YINQI_HOME (`keys/ledger-hmac.key`); it is read, never made.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from yinqi.adapters.crypto.keys import KeyFileError, load_secret
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.uow import SqlUnitOfWork
from yinqi.application import audit
from yinqi.config import load_settings
from yinqi.domain.identity.principal import Principal

app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: YINQI_DB or YINQI_HOME).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

_out = Console(width=200)
CLI_OPERATOR = Principal.system("cli")  # whoever can read the key file and the database reads the trail


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _open(db: str | None) -> tuple[Engine, SqlUnitOfWork]:
    settings = load_settings(db=db)
    try:
        key = load_secret(settings.path(settings.ledger_hash_key_file))
    except KeyFileError as exc:
        raise _fail(str(exc)) from None
    engine = make_engine(settings.db_url)
    return engine, SqlUnitOfWork(engine, ledger_key=key)


@app.command("verify")
def verify_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Recompute every link of the chain and compare the end with the head row."""
    engine, uow = _open(db)
    try:
        with uow:
            result = audit.verify(uow)
    except SQLAlchemyError as exc:
        raise _fail(f"cannot read the audit trail: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()
    p = result.first_problem
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    elif p is None:
        typer.echo(f"audit trail OK: {result.count} events, head {result.head}")
    else:
        typer.echo(f"audit trail BROKEN at seq {p.seq} [{p.kind}]: {p.message}")
    if not result.ok:
        raise typer.Exit(1)


@app.command("list")
def list_command(db: DbOption = None,
                 actor: Annotated[str | None, typer.Option(help="Exact actor id (username).")] = None,
                 action: Annotated[str | None, typer.Option(help="Action prefix, e.g. order.")] = None,
                 object_id: Annotated[str | None, typer.Option("--object", help="Exact object id.")] = None,
                 outcome: Annotated[str | None, typer.Option(help="success, denied or failed.")] = None,
                 since: Annotated[str | None, typer.Option(help="7d, 12h, 30m, a date or a date-time.")] = None,
                 limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
                 as_json: JsonOption = False) -> None:
    """The newest events matching every filter given."""
    now = datetime.now(UTC)
    try:
        flt = audit.AuditFilter(actor_id=actor, action_prefix=action, object_id=object_id,
                                outcome=audit.check_outcome(outcome),
                                since=audit.parse_when(since, now=now, where="since") if since else None)
    except audit.AuditFilterInvalid as exc:
        raise _fail(exc.message) from None
    engine, uow = _open(db)
    try:
        with uow:
            page = audit.list_events(uow, principal=CLI_OPERATOR, flt=flt, limit=limit)
    except SQLAlchemyError as exc:
        raise _fail(f"cannot read the audit trail: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([e.as_dict() for e in page.events], ensure_ascii=False))
        return
    table = Table("seq", "time (UTC)", "actor", "origin", "action", "object", "outcome", "reason",
                  title="Audit events (newest first)")
    for e in page.events:
        table.add_row(str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor_id,
                      f"{e.actor_channel} {e.source_address}".strip(), e.action,
                      f"{e.object_type} {e.object_id or ''}".strip(), e.outcome, e.reason)
    _out.print(table)
