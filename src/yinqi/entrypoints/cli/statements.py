"""`yinqi statements …`: read and import bank statements (camt.052/053/054, MT940/MT942).

The format is detected from the content (XML -> camt, otherwise MT940/942), never from the name.

`parse FILE` prints the statement JSON contract (see `adapters/iso20022/statement_json.py`) on
stdout; `format` is e.g. "camt.053.001.08", "mt940" or "mt942". Exit codes: 0 read (warnings are
inside the JSON); 1 the file was refused (not a statement, malformed, DTD, too large, no statement,
an unreadable entry); 2 the file could not be read; 3 (import) the store refused it
(rolled back, nothing stored).

`import FILE [--db URL] [--json]` stores the statements and settles the orders they prove paid, in
one transaction. Idempotent: the same bytes again store nothing and report every statement as a
duplicate. Same exit codes as `parse`. A failure prints exactly one line on stderr naming the file
and the reason, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from yinqi.adapters.iso20022.codec import read_any_statements
from yinqi.adapters.iso20022.statement_json import to_json_dict
from yinqi.application.statements import ImportSummary, import_statement_file
from yinqi.bootstrap import build_hub
from yinqi.config import load_settings
from yinqi.domain.problems import DomainError
from yinqi.entrypoints.cli.iso20022 import one_line, read_limited

app = typer.Typer(help="Bank statements: camt.052/053/054, MT940/MT942.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="The camt XML or MT940/MT942 file.", dir_okay=False)]
DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default: YINQI_DB or the home's SQLite).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the import summary as JSON.")]


@app.callback()
def _family() -> None:
    """Bank statements: camt.052/053/054, MT940/MT942."""


@app.command("parse")
def parse_command(file: FileArg) -> None:
    """Read FILE and print its statements as JSON."""
    try:
        statements = read_any_statements(read_limited(file), source=str(file))
    except OSError as exc:
        _fail("parse", file, f"cannot read: {exc.strerror or exc}", 2)
    except DomainError as exc:
        _fail("parse", file, f"{exc.code}: {exc.message}", 1)
    typer.echo(json.dumps(to_json_dict(statements), ensure_ascii=False, indent=2))


@app.command("import")
def import_command(file: FileArg, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Import FILE: store its statements, flag breaks, settle the orders it proves paid."""
    try:
        data = read_limited(file)
    except OSError as exc:
        _fail("import", file, f"cannot read: {exc.strerror or exc}", 2)
    except DomainError as exc:
        _fail("import", file, f"{exc.code}: {exc.message}", 1)
    hub = build_hub(load_settings(db=db))
    try:
        summary = import_statement_file(uow_factory=hub.uow, clock=hub.clock, codec=hub.codec, data=data,
                                        source=str(file))
    except DomainError as exc:
        _fail("import", file, f"{exc.code}: {exc.message}", 1)
    except Exception as exc:  # one line, not a traceback; the transaction was rolled back
        _fail("import", file, f"not imported, nothing stored: {type(exc).__name__}: {str(exc)[:200]}", 3)
    finally:
        hub.engine.dispose()
    typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2) if as_json else _summary_text(summary))


def _summary_text(s: ImportSummary) -> str:
    verdict = "duplicate: already imported, nothing changed" if s.statements and \
        s.duplicate_statements == s.statements else f"{s.entries_added} entries added"
    lines = [f"{s.format}: {s.statements} statement(s); {verdict}; {s.entries_skipped} skipped; "
             f"{len(s.settled)} order(s) settled; {len(s.discrepancies)} discrepancy(ies)"]
    breaks = [f"  break: {c['statement_id']} {b['code']} {b['amount'] or ''} {b['currency'] or ''}".rstrip()
              for c in s.checks for b in c["breaks"]]
    return "\n".join([*lines, *(f"  warning: {w}" for w in s.warnings), *breaks])


def _fail(command: str, file: Path, reason: str, code: int) -> NoReturn:
    prefix = f"{file}: "
    typer.echo(f"yinqi statements {command}: {file}: {one_line(reason).replace(prefix, '')}", err=True)
    raise typer.Exit(code)
