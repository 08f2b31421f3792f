"""`yinqi screen …`: sanctions screening from the command line.

Typer cannot mix a positional NAME with sub-commands, so the forms are:
  yinqi screen name NAME [--country CC] [--dob YYYY-MM-DD] [--list L] [--json]
  yinqi screen batch FILE.csv [--list L] [--json]    (one JSON object per line)
  yinqi screen load FILE --list NAME [--alt ALT.csv]  (new version; prints the diff to the previous)
  yinqi screen evaluate FILE [--list L] [--json]     (precision, recall, FPR, ROC-AUC per group)
Lists live in YINQI_HOME/sanctions/. Exit codes: 0 clear (or done); 1 review or block for `name`
(so scripts fail closed); 2 bad input or no list loaded. Errors print one line on stderr.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from yinqi.adapters.sanctions.files import read_list_file
from yinqi.adapters.sanctions.labelled import read_labelled
from yinqi.adapters.sanctions.store import FileListStore
from yinqi.application.screening import Screener, evaluate, load_list
from yinqi.config import load_settings
from yinqi.domain.problems import DomainError
from yinqi.domain.screening.decision import ScreeningResult
from yinqi.domain.screening.score import Query

app = typer.Typer(help="Sanctions screening: load lists, screen names, evaluate.", no_args_is_help=True)
ListOpt = Annotated[list[str] | None, typer.Option("--list", help="Screen against this list only (repeatable).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.callback()
def _family() -> None:
    """Sanctions screening: load lists, screen names, evaluate."""


def _fail(command: str, reason: str, code: int = 2) -> NoReturn:
    typer.echo(f"yinqi screen {command}: {' '.join(reason.split())}", err=True)
    raise typer.Exit(code)


def _store() -> FileListStore:
    return FileListStore(load_settings().home / "sanctions")


def _screener(command: str, lists: list[str] | None) -> Screener:
    try:
        screener = Screener.from_store(_store(), lists=lists)
    except DomainError as exc:
        _fail(command, f"{exc.code}: {exc.message}")
    if not screener.versions:
        _fail(command, "no sanctions list loaded; run `yinqi screen load FILE --list NAME` first")
    return screener


def _human(result: ScreeningResult) -> str:
    lines = [f"{result.query.name}: {result.decision.value.upper()}"]
    for h in result.hits:
        lines.append(f"  {h.score:.2f}  {h.list_name}:{h.entity_id}  {h.name}")
        lines += [f"        - {r}" for r in h.reasons]
    return "\n".join(lines)


@app.command("name")
def name_command(name: str, country: Annotated[str | None, typer.Option(help="ISO 3166 alpha-2.")] = None,
                 dob: Annotated[str | None, typer.Option(help="Date of birth YYYY-MM-DD.")] = None,
                 lists: ListOpt = None, as_json: JsonOpt = False) -> None:
    """Screen one NAME. Exit 1 when the decision is review or block."""
    if dob and not (len(dob) == 10 and dob[4] == dob[7] == "-" and dob.replace("-", "").isdigit()):
        _fail("name", f"--dob {dob!r} is not YYYY-MM-DD")
    result = _screener("name", lists).screen(Query(name, country=country.upper() if country else None, birth_date=dob))
    typer.echo(json.dumps(result.as_dict(), ensure_ascii=False) if as_json else _human(result))
    raise typer.Exit(0 if result.decision.value == "clear" else 1)


@app.command("batch")
def batch_command(file: Path, lists: ListOpt = None, as_json: JsonOpt = True) -> None:
    """Screen every row of a CSV (columns name|query|full_name, optional country, dob)."""
    try:
        rows = list(csv.DictReader(io.StringIO(file.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError) as exc:
        _fail("batch", f"{file}: cannot read: {exc}")
    screener = _screener("batch", lists)
    for row in rows:
        name = next((row[k] for k in ("name", "query", "full_name") if row.get(k)), "")
        dob = (row.get("dob") or row.get("date_of_birth") or "").strip() or None
        country = (row.get("country") or "").strip().upper() or None
        result = screener.screen(Query(name, country=country, birth_date=dob))
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False) if as_json else _human(result))


@app.command("load")
def load_command(file: Path, list_name: Annotated[str, typer.Option("--list", help="List name, e.g. ofac-sdn.")],
                 alt: Annotated[Path | None, typer.Option(help="OFAC alt.csv with aliases.")] = None,
                 as_json: JsonOpt = False) -> None:
    """Load FILE (OFAC sdn.csv, OFAC sdnList XML, UN consolidated XML) as the next version of a list."""
    try:
        entities, problems, data = read_list_file(file, list_name=list_name, alt_path=alt)
        report = load_list(store=_store(), list_name=list_name, entities=entities, source=str(file),
                           loaded_at_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                           sha256=hashlib.sha256(data).hexdigest())
    except OSError as exc:
        _fail("load", f"{file}: cannot read: {exc.strerror or exc}")
    except DomainError as exc:
        _fail("load", f"{exc.code}: {exc.message}", 1)
    d = report.diff
    doc = {"list": list_name, "version": report.version.version, "previous": report.previous,
           "entities": len(entities), "aliases": sum(len(e.all_names) - 1 for e in entities),
           "problems": [p.as_dict() for p in problems],
           "diff": {"added": list(d.added), "removed": list(d.removed), "changed": list(d.changed)}}
    if as_json:
        typer.echo(json.dumps(doc))
        return
    typer.echo(f"{list_name} v{report.version.version}: {doc['entities']} entities, {doc['aliases']} aliases, "
               f"{len(problems)} problem rows; vs v{report.previous or 0}: {d.summary()}")
    for label, ids in (("added", d.added), ("removed", d.removed), ("changed", d.changed)):
        if ids:
            typer.echo(f"  {label}: {', '.join(ids[:20])}{' …' if len(ids) > 20 else ''}")


@app.command("evaluate")
def evaluate_command(file: Path, lists: ListOpt = None, as_json: JsonOpt = False) -> None:
    """Precision, recall, false-positive rate and ROC-AUC on a labelled file, per group."""
    try:
        cases = read_labelled(file.read_bytes())
    except (OSError, ValueError, KeyError) as exc:
        _fail("evaluate", f"{file}: cannot read labelled cases: {exc}")
    result = {g: m.as_dict() for g, m in evaluate(screener=_screener("evaluate", lists), cases=cases).items()}
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"{'group':18} {'cases':>6} {'precision':>9} {'recall':>7} {'FPR':>6} {'ROC-AUC':>7}")
    for g, m in result.items():
        cells = [("-" if m[k] is None else f"{m[k]:.3f}")
                 for k in ("precision", "recall", "false_positive_rate", "roc_auc")]
        typer.echo(f"{g:18} {m['cases']:>6} {cells[0]:>9} {cells[1]:>7} {cells[2]:>6} {cells[3]:>7}")
