"""`yinqi status-reports …`: read pain.002 payment status reports.

`parse FILE [--json]` shows the statuses at group, payment and transaction level, each reason code
with its plain-words meaning (`domain/status_reasons.py`). The JSON shape is a contract:
`{"original_msg_id", "group_status", "payments": [{"pmt_inf_id", "status", "transactions":
[{"end_to_end_id", "status", "reason", "reason_text"}]}]}` - keys always present, null when absent.
Exit codes: 0 read; 1 refused (not a pain.002, malformed, DTD, too large); 2 cannot read the file.
A failure prints exactly one line on stderr naming the file and the reason, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from yinqi.adapters.iso20022.pain002_reader import read_pain002
from yinqi.domain.bank_messages import StatusReport, TransactionStatus
from yinqi.domain.problems import DomainError
from yinqi.domain.status_reasons import plain_words
from yinqi.entrypoints.cli.iso20022 import one_line, read_limited

app = typer.Typer(help="Payment status reports (pain.002).", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="The pain.002 XML file.", dir_okay=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the JSON contract instead of text.")]


@app.callback()
def _family() -> None:
    """Payment status reports (pain.002)."""


@app.command("parse")
def parse_command(file: FileArg, as_json: JsonOpt = False) -> None:
    """Read FILE and print its statuses, reasons in plain words."""
    try:
        report = read_pain002(read_limited(file), source=str(file))
    except OSError as exc:
        _fail(file, f"cannot read: {exc.strerror or exc}", 2)
    except DomainError as exc:
        _fail(file, f"{exc.code}: {exc.message}", 1)
    out = to_json_dict(report)
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2) if as_json else "\n".join(_text_lines(out)))


def to_json_dict(report: StatusReport) -> dict[str, Any]:
    return {
        "original_msg_id": report.original_message_id,
        "group_status": report.group_status,
        "payments": [{"pmt_inf_id": p.payment_info_id, "status": p.status,
                      "transactions": [_transaction(t) for t in p.transactions]} for p in report.payments],
    }


def _transaction(t: TransactionStatus) -> dict[str, Any]:
    return {"end_to_end_id": t.end_to_end_id, "status": t.status, "reason": t.reason_code,
            "reason_text": plain_words(t.reason_code)}


def _text_lines(out: dict[str, Any]) -> list[str]:
    lines = [f"status report for {out['original_msg_id']}: group {out['group_status'] or '-'}"]
    for p in out["payments"]:
        lines.append(f"  payment {p['pmt_inf_id'] or '-'}: {p['status'] or '-'}")
        lines += [f"    {t['end_to_end_id'] or '-'}: {t['status'] or '-'}"
                  + (f" ({t['reason_text']})" if t["reason_text"] else "") for t in p["transactions"]]
    return lines


def _fail(file: Path, reason: str, code: int) -> NoReturn:
    prefix = f"{file}: "
    typer.echo(f"yinqi status-reports parse: {file}: {one_line(reason).replace(prefix, '')}", err=True)
    raise typer.Exit(code)
