"""`yinqi route …`: why a payment order goes (or went) through the channel it does.

`explain ORDER_ID [--json]` routes the order against the configured channels as of now and prints
the chosen channel, every alternative with the reasons it lost, and the bank message the order is
already in, if any. `--json` prints the contract of `GET /api/v1/payment-orders/{id}/route`.
Exit codes: 0 a route exists (or the order is already in a bank message); 1 no channel can carry
the order (NO_ROUTE) or it does not exist; 2 the hub could not start (no database, bad config).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from yinqi.adapters.crypto.keys import KeyFileError
from yinqi.application.routing import RouteReport, explain_order_route, report_dict
from yinqi.bootstrap import build_hub
from yinqi.config import load_settings
from yinqi.domain.problems import DomainError
from yinqi.domain.routing.explain import explanation_lines

app = typer.Typer(help="Routing: which bank channel carries a payment order, and why.", no_args_is_help=True)

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: YINQI_DB or YINQI_HOME).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")]


@app.callback()
def _family() -> None:
    """Routing: which bank channel carries a payment order, and why."""


@app.command("explain")
def explain_command(order_id: Annotated[str, typer.Argument(help="The payment order's id.")],
                    as_json: JsonOption = False, db: DbOption = None) -> None:
    """Show the chosen channel for ORDER_ID and why each alternative was not chosen."""
    try:
        hub = build_hub(load_settings(db=db))
        with hub.uow() as uow:
            report = explain_order_route(uow=uow, order_id=order_id, channels=hub.settings.routing_channels(),
                                         now=hub.clock.now())
    except (KeyFileError, SQLAlchemyError) as exc:
        typer.echo(f"yinqi route explain: cannot run: {exc.__class__.__name__}: {str(exc).splitlines()[0]}",
                   err=True)
        raise typer.Exit(2) from None
    except DomainError as exc:
        typer.echo(f"{exc.code}: {exc.message}", err=True)
        raise typer.Exit(2 if exc.code == "CHANNEL_INVALID" else 1) from None
    typer.echo(json.dumps(report_dict(report), indent=2, ensure_ascii=False) if as_json else _text(report))
    if report.explanation.chosen is None and report.sent_message_id is None:
        raise typer.Exit(1)


def _text(report: RouteReport) -> str:
    lines = explanation_lines(report.explanation)
    if report.sent_message_id:
        lines.append(f"sent: message {report.sent_message_id} to bank {report.sent_bank_id}")
    lines.append(f"order state: {report.order.state.value}")
    return "\n".join(lines)
