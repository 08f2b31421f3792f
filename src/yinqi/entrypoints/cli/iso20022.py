"""`yinqi iso20022 …`: check ISO 20022 files against the official schemas.

`validate FILE` exit codes: 0 valid; 1 invalid or refused (each problem on its own line, naming
the element path; DTDs/entities and oversized files are refused before parsing); 2 the file could
not be read. A pain.001 is also checked for what the XSD cannot state (NbOfTxs/CtrlSum against
the content, currency decimals), exactly as the hub reads one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from lxml import etree

from yinqi.adapters.iso20022 import safexml
from yinqi.adapters.iso20022.pain001_reader import read_pain001
from yinqi.adapters.iso20022.schema import message_type
from yinqi.adapters.iso20022.xmlpath import schema_problems
from yinqi.domain.problems import DomainError, Problem

app = typer.Typer(help="ISO 20022 messages: schema validation.", no_args_is_help=True)

_NS = re.compile(r"\{[^}]*\}")  # "{urn:iso:...}Stmt" -> "Stmt" in libxml2 messages
FileArg = Annotated[Path, typer.Argument(help="The XML file to check.", dir_okay=False)]


@app.callback()
def _family() -> None:
    """ISO 20022 messages: schema validation."""


def read_limited(path: Path, max_bytes: int = safexml.MAX_BYTES_DEFAULT) -> bytes:
    """The file's bytes; the size limit is checked before anything is read.

    Raises:
        OSError: missing or unreadable file.
        XmlRejected (XML_REJECTED): larger than `max_bytes`.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise safexml.XmlRejected(f"{path}: {size} bytes exceeds the limit of {max_bytes}",
                                  where=str(path), rule="max_size", value=size)
    return path.read_bytes()


def one_line(text: str) -> str:
    return " ".join(text.split())


@app.command("validate")
def validate_command(file: FileArg) -> None:
    """Validate FILE against its official XSD (the namespace decides which)."""
    try:
        data = read_limited(file)
    except OSError as exc:
        typer.echo(f"{file}: cannot read: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    except DomainError as exc:
        _fail(file, [exc.as_problem()])
    try:
        msg_type, problems = _validate(data, str(file))
    except DomainError as exc:
        msg_type, problems = "", list(getattr(exc, "problems", None) or [exc.as_problem()])
    if problems:
        _fail(file, problems)
    typer.echo(f"{file}: valid {msg_type}")


def _validate(data: bytes, source: str) -> tuple[str, list[Problem]]:
    """(message type, XSD problems); refusals (DTD, size, pain.001 rules) raise DomainError."""
    root = safexml.parse_bytes(data, source=source)
    msg_type = message_type(etree.QName(root).namespace or "")
    if msg_type.startswith("pain.001."):
        read_pain001(data, source=source)
        return msg_type, []
    return msg_type, schema_problems(root)


def _fail(file: Path, problems: list[Problem]) -> NoReturn:
    noun = "problem" if len(problems) == 1 else "problems"
    verdict = "refused" if all(p.code == "XML_REJECTED" for p in problems) else "invalid"
    typer.echo(f"{file}: {verdict} ({len(problems)} {noun})")
    prefix = f"{file}: "
    for p in problems:
        where = p.where if p.where and p.where != str(file) else "document"
        message = _NS.sub("", one_line(p.message)).removeprefix(prefix)
        typer.echo(f"  {where}: {message} [{p.code}]")
    raise typer.Exit(1)
