"""`yinqi statements …`: read bank statements (camt.052/053/054).

`parse FILE` prints the statement JSON contract (see `adapters/iso20022/statement_json.py`) on
stdout. Exit codes: 0 read (warnings are inside the JSON); 1 the file was refused (not a camt,
malformed, DTD, too large, no statement, an unreadable entry); 2 the file could not be read.
A failure prints exactly one line on stderr naming the file and the reason, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from yinqi.adapters.iso20022.camt_reader import read_statements
from yinqi.adapters.iso20022.statement_json import to_json_dict
from yinqi.domain.problems import DomainError
from yinqi.entrypoints.cli.iso20022 import one_line, read_limited

app = typer.Typer(help="Bank statements: camt.052/053/054.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="The camt XML file.", dir_okay=False)]


@app.callback()
def _family() -> None:
    """Bank statements: camt.052/053/054."""


@app.command("parse")
def parse_command(file: FileArg) -> None:
    """Read FILE and print its statements as JSON."""
    try:
        data = read_limited(file)
        statements = read_statements(data, source=str(file))
    except OSError as exc:
        _fail(file, f"cannot read: {exc.strerror or exc}", 2)
    except DomainError as exc:
        _fail(file, f"{exc.code}: {exc.message}", 1)
    typer.echo(json.dumps(to_json_dict(statements), ensure_ascii=False, indent=2))


def _fail(file: Path, reason: str, code: int) -> NoReturn:
    prefix = f"{file}: "
    typer.echo(f"yinqi statements parse: {file}: {one_line(reason).replace(prefix, '')}", err=True)
    raise typer.Exit(code)
