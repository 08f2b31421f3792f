"""`yinqi recon …`: reconcile stored bank statement entries against open payment orders.

`run [--account ID] [--dry-run] [--json]` matches every unmatched stored entry (of one account,
with --account) against the open (SENT / ACCEPTED) orders and settles what may be booked
unattended. `--dry-run` shows what would be matched and why and commits nothing. `--json` prints
matches (entries, orders, rule, confidence, reasons), suggestions, discrepancies and unmatched
counts. Exit codes: 0 the run completed (suggestions and discrepancies are data, not failures);
2 the run could not start (no database, no key).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from yinqi.adapters.crypto.keys import KeyFileError
from yinqi.application.reconciliation import ReconciliationRun, run_reconciliation
from yinqi.bootstrap import build_hub
from yinqi.config import load_settings
from yinqi.domain.reconciliation.model import Match

app = typer.Typer(help="Reconciliation: statement entries against open payment orders.", no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: YINQI_DB or YINQI_HOME).")]
AccountOption = Annotated[str | None, typer.Option("--account", help="Only this account (IBAN or account id).")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show what would be matched; commit nothing.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON report instead of text.")]


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
