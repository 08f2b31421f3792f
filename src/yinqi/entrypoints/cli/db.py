"""`yinqi db …`: schema management."""

from __future__ import annotations

import typer
from rich.console import Console

from yinqi.adapters.db.engine import make_engine
from yinqi.adapters.db.migrate import current, upgrade
from yinqi.config import load_settings

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
console = Console()

DbOption = typer.Option(None, "--db", help="Database URL; overrides YINQI_DB and yinqi.toml.")


@app.command("upgrade")
def upgrade_cmd(db: str | None = DbOption) -> None:
    """Create or migrate the schema to the latest revision."""
    settings = load_settings(db=db)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    console.print(f"database at revision [bold]{current(engine)}[/bold] ({engine.url.render_as_string()})")


@app.command("current")
def current_cmd(db: str | None = DbOption) -> None:
    """Print the schema revision of the database."""
    settings = load_settings(db=db)
    console.print(current(make_engine(settings.db_url)) or "empty")
