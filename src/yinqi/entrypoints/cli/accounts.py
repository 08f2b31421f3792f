"""`yinqi accounts …`: the company's own bank accounts."""

from __future__ import annotations

import typer
from rich.console import Console

from yinqi.application.accounts import onboard_account
from yinqi.bootstrap import build_hub
from yinqi.config import load_settings
from yinqi.domain.identifiers import CnDomesticAccount, Iban
from yinqi.domain.money import Money
from yinqi.domain.parties import AccountRef
from yinqi.domain.problems import DomainError

app = typer.Typer(help="The company's own bank accounts.", no_args_is_help=True)
console = Console()


@app.command("onboard")
def onboard(iban: str = typer.Option(None, help="IBAN of the account."),
            number: str = typer.Option(None, help="Chinese domestic account number (with --cnaps)."),
            cnaps: str = typer.Option(None, help="12-digit CNAPS bank code."),
            currency: str = typer.Option(..., help="ISO 4217 currency of the account."),
            opening_balance: str = typer.Option("0", help="Balance at the bank now, as a decimal string."),
            name: str = typer.Option("", help="Name of the account holder."),
            db: str | None = typer.Option(None, "--db", help="Database URL.")) -> None:
    """Book an account's opening balance so the hub can pay from it (idempotent)."""
    hub = build_hub(load_settings(db=db))
    try:
        ref = AccountRef(iban=Iban.parse(iban)) if iban else \
            AccountRef(domestic=CnDomesticAccount.parse(number=number, cnaps=cnaps))
        with hub.uow() as uow:
            seq = onboard_account(uow=uow, clock=hub.clock, actor="cli", account=ref, currency=currency.upper(),
                                  opening_balance=Money.parse(opening_balance, currency), name=name)
    except DomainError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"onboarded {ref.masked} {currency.upper()} (opening entry {seq})")
