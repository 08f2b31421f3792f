"""`yinqi sandbox-bank …`: run the sandbox bank and seed it, for demos and tests.

    yinqi sandbox-bank serve [--host 127.0.0.1] [--port 8443] [--home DIR] [--db URL] [--faults JSON]
    yinqi sandbox-bank open-account (--iban IBAN | --other-id ID) --currency EUR --balance 1000.00 --name N
    yinqi sandbox-bank statement --account IBAN --date YYYY-MM-DD [--version camt.053.001.02]

`open-account` and `statement` work offline on the bank's database (the server may be running:
SQLite serialises the writers). HOME defaults to $YINQI_SANDBOX_HOME, then var/sandbox-bank.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from sandbox_bank.bank import SandboxBank
from sandbox_bank.config import load_settings
from sandbox_bank.faults import Faults
from yinqi.domain.problems import DomainError

app = typer.Typer(help="The sandbox bank: a bank host-to-host endpoint over HTTPS, with faults.",
                  no_args_is_help=True)

HomeOpt = Annotated[Path | None, typer.Option("--home", help="Data folder (certs, database).")]
DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default: SQLite in HOME).")]


def _fail(exc: DomainError) -> typer.Exit:
    typer.echo(f"error {exc.code}: {exc.message}", err=True)
    return typer.Exit(code=2)


@app.command()
def serve(host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port.")] = 8443,
          home: HomeOpt = None, db: DbOpt = None,
          faults: Annotated[str | None, typer.Option(help='Faults JSON, e.g. \'{"outage": true}\'.')] = None,
          log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning") -> None:
    """Run the sandbox bank over HTTPS (dev CA and server certificate made in HOME/certs)."""
    from sandbox_bank.server import serve as run  # uvicorn only when serving

    try:
        initial = Faults.model_validate_json(faults) if faults else Faults()
    except ValidationError as exc:
        typer.echo(f"error: --faults is not valid: {exc}", err=True)
        raise typer.Exit(code=2) from None
    settings = load_settings(home=home, db=db, faults=initial)
    typer.echo(f"sandbox bank on https://{host}:{port}  CA: {settings.certs_dir / 'ca.pem'}", err=True)
    run(settings, host=host, port=port, log_level=log_level)


@app.command("open-account")
def open_account(currency: Annotated[str, typer.Option(help="ISO 4217 code.")],
                 name: Annotated[str, typer.Option(help="Account holder.")],
                 balance: Annotated[str, typer.Option(help="Opening balance, e.g. 1000.00.")] = "0",
                 iban: Annotated[str | None, typer.Option(help="IBAN (checked).")] = None,
                 other_id: Annotated[str | None, typer.Option("--other-id", help="Non-IBAN id.")] = None,
                 home: HomeOpt = None, db: DbOpt = None) -> None:
    """Open an account in the sandbox bank's database and print it as JSON."""
    bank = SandboxBank.from_settings(load_settings(home=home, db=db))
    try:
        account = bank.open_account(iban=iban, other_id=other_id, currency=currency, balance=balance, name=name)
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        bank.close()
    typer.echo(json.dumps({"account": account.key, "currency": account.currency, "name": account.name,
                           "balance": account.balance.format()}))


@app.command()
def statement(account: Annotated[str, typer.Option(help="IBAN or other id.")],
              on: Annotated[str, typer.Option("--date", help="Day, YYYY-MM-DD.")],
              version: Annotated[str, typer.Option(help="camt.053.001.08 or .02.")] = "camt.053.001.08",
              home: HomeOpt = None, db: DbOpt = None) -> None:
    """Print the camt.053 of ACCOUNT for one day."""
    try:
        day = date.fromisoformat(on)
    except ValueError:
        typer.echo(f"error: --date {on!r} is not YYYY-MM-DD", err=True)
        raise typer.Exit(code=2) from None
    bank = SandboxBank.from_settings(load_settings(home=home, db=db))
    try:
        xml = bank.statement(account, day, version=version)
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        bank.close()
    sys.stdout.buffer.write(xml)
    sys.stdout.flush()
