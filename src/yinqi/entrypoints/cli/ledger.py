"""`yinqi ledger …`: verify the journal, sign a checkpoint, list balances.

Exit codes: 0 clean; 1 the ledger failed verification (the message names the first bad sequence
number); 2 the command could not run (no database, no key). Key and checkpoint files live in
YINQI_HOME: `keys/ledger-hmac.key` (the chain's HMAC key), `keys/ledger-checkpoint-ed25519.key`
(the checkpoint signing seed) and `checkpoints/ledger.jsonl` (the signed checkpoint log).
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

from yinqi.adapters.crypto.keys import KeyFileError, load_ed25519, load_or_create_ed25519, load_secret
from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.ledger_store import SqlLedger
from yinqi.adapters.db.ledger_verify import CheckpointMismatch, VerifyReport, verify, write_checkpoint
from yinqi.config import Settings, load_settings

app = typer.Typer(help="The tamper-evident double-entry ledger.", no_args_is_help=True)


DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: YINQI_DB or YINQI_HOME).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON report instead of text.")]

_out = Console()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _open(db: str | None) -> tuple[Settings, Engine, bytes]:
    settings = load_settings(db=db)
    try:
        key = load_secret(settings.path(settings.ledger_hash_key_file))
    except KeyFileError as exc:
        raise _fail(str(exc)) from None
    return settings, make_engine(settings.db_url), key


def _verify(settings: Settings, engine: Engine, key: bytes) -> VerifyReport:
    cp_key_path = settings.path(settings.ledger_checkpoint_key_file)
    public = load_ed25519(cp_key_path).public_key() if cp_key_path.exists() else None
    try:
        return verify(engine, hash_key=key, checkpoints_path=settings.path(settings.ledger_checkpoints_file),
                      checkpoint_key=public)
    except SQLAlchemyError as exc:
        raise _fail(f"cannot read the ledger: {exc.__class__.__name__}: {exc}") from None


def _summary(report: VerifyReport) -> str:
    if report.ok:
        return (f"ledger OK: {report.entries} entries, {report.postings} postings, "
                f"{report.checkpoints_checked} checkpoints, head {report.head_seq}")
    where = f"first bad sequence number: {report.first_bad_seq}" if report.first_bad_seq else "no single entry"
    return f"ledger FAILED verification ({report.problem_count} problems; {where})"


@app.command("verify")
def verify_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Recompute every hash and balance and compare with the tables and signed checkpoints."""
    settings, engine, key = _open(db)
    try:
        report = _verify(settings, engine, key)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for p in report.problems:
            typer.echo(f"  [{p.kind}] {'seq ' + str(p.seq) + ': ' if p.seq else ''}{p.message}")
        typer.echo(_summary(report))
    if not report.ok:
        raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Verify, then sign (size, head hash, Merkle root) and append it to the checkpoint log."""
    settings, engine, key = _open(db)
    try:
        report = _verify(settings, engine, key)
        if not report.ok:
            typer.echo(_summary(report), err=True)
            raise typer.Exit(1)
        signing_key = load_or_create_ed25519(settings.path(settings.ledger_checkpoint_key_file))
        cp = write_checkpoint(engine, checkpoints_path=settings.path(settings.ledger_checkpoints_file),
                              signing_key=signing_key, at=datetime.now(UTC))
    except CheckpointMismatch as exc:
        typer.echo(f"refusing to checkpoint: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    body = cp.body()
    typer.echo(json.dumps(body) if as_json else
               f"checkpoint at size {cp.size}: head {body['head_hash']}, root {body['merkle_root']}")


@app.command("balances")
def balances_command(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every account balance and the trial balance per currency (always zero when healthy)."""
    _, engine, key = _open(db)
    try:
        with engine.connect() as conn:
            ledger = SqlLedger(conn, hash_key=key)
            balances, trial = ledger.balances(), ledger.trial_balance()
    except SQLAlchemyError as exc:
        raise _fail(f"cannot read the ledger: {exc}") from None
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({"balances": {c: {"amount": m.format(), "currency": m.currency}
                                                 for c, m in balances.items()}, "trial_balance": trial}))
        return
    table = Table("account", "currency", "balance", title="Ledger balances")
    for code, money in balances.items():
        table.add_row(code, money.currency, money.format())
    _out.print(table)
    typer.echo("trial balance: " + (", ".join(f"{c} {v}" for c, v in sorted(trial.items())) or "empty"))
