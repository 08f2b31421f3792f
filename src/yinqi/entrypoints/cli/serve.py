"""`yinqi serve`, `yinqi worker` and `yinqi demo`: running the hub."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console

from yinqi.adapters.db.migrate import head, is_current, upgrade
from yinqi.bootstrap import Hub, build_hub
from yinqi.config import load_settings

app = typer.Typer()
console = Console()

DbOption = typer.Option(None, "--db", help="Database URL; overrides YINQI_DB and yinqi.toml.")


def _logging() -> None:
    logging.basicConfig(level=os.environ.get("YINQI_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")


@app.command("serve")
def serve(db: str | None = DbOption, host: str = typer.Option(None, help="Listen address."),
          port: int = typer.Option(None, help="Listen port."),
          worker: bool = typer.Option(True, help="Run the background worker in this process.")) -> None:
    """Run the REST API, the web console and (by default) the background worker."""
    _logging()
    settings = load_settings(db=db)
    hub = build_hub(settings)
    _require_migrated(hub)
    run_hub(hub, host=host or settings.api_host, port=port or settings.api_port, worker=worker)


def _require_migrated(hub: Hub) -> None:
    if not is_current(hub.engine):
        console.print(f"[red]the database {hub.engine.url.render_as_string()} is not at the current schema "
                      f"revision ({head()}): run `yinqi db upgrade` first[/red]")
        raise typer.Exit(2)


def run_hub(hub: Hub, *, host: str, port: int, worker: bool) -> None:
    import uvicorn

    from yinqi.entrypoints.hub_app import build_app
    from yinqi.entrypoints.workers.hub_worker import HubWorker, start_in_thread

    app_ = build_app(hub)
    stop = None
    if worker:
        _, stop = start_in_thread(HubWorker.for_hub(hub))
    try:
        uvicorn.run(app_, host=host, port=port, log_level="warning", access_log=False)
    finally:
        if stop is not None:
            stop.set()


@app.command("worker")
def worker_cmd(db: str | None = DbOption,
               once: bool = typer.Option(False, help="Do one pass and exit (for cron or tests).")) -> None:
    """Run the background worker alone: outbox dispatch, status polling, statements."""
    import threading

    from yinqi.entrypoints.workers.hub_worker import HubWorker

    _logging()
    settings = load_settings(db=db)
    hub = build_hub(settings)
    _require_migrated(hub)
    worker = HubWorker.for_hub(hub)
    if once:
        console.print(worker.run_once())
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        worker.run(stop)
    except KeyboardInterrupt:
        stop.set()


@app.command("demo")
def demo(home: Path = typer.Option(Path("var/demo"), help="Data folder for the demo hub and bank."),
         port: int = typer.Option(8400, help="Console and API port."),
         bank_port: int = typer.Option(8443, help="Sandbox bank HTTPS port.")) -> None:
    """Start the sandbox bank and the hub on SQLite with demo data (what `make run` runs)."""
    from yinqi.entrypoints.demo import seed_demo, wait_for_bank
    from yinqi.entrypoints.demo_identity import seed_identity

    home = home.resolve()
    os.environ["YINQI_HOME"] = str(home)
    bank_home = home / "bank"
    bank = subprocess.Popen([sys.executable, "-m", "yinqi.entrypoints.cli.main", "sandbox-bank", "serve",
                             "--port", str(bank_port), "--home", str(bank_home)])
    try:
        settings = load_settings(home=home)
        settings.sandbox_bank_url = f"https://127.0.0.1:{bank_port}"
        wait_for_bank(settings, timeout_s=30)
        hub = build_hub(settings)
        upgrade(hub.engine)
        logins = seed_identity(hub)
        seeded = seed_demo(hub, bank_home=bank_home)
        console.rule("[bold]Yinqi is running")
        console.print(f"Console:  [bold]http://127.0.0.1:{port}/[/bold]   API docs: http://127.0.0.1:{port}/docs")
        console.print(f"Sandbox bank: {settings.sandbox_bank_url} (data in {bank_home})")
        console.print(f"Data: {home}  (database {settings.db_url})")
        console.print(f"Sign in as {', '.join(logins.usernames)} with the demo password [bold]{logins.password}[/bold] "
                      "(admin · operator · approver · treasurer · auditor); the first sign-in enrols TOTP by QR code.")
        if logins.erp_token:
            console.print(f"Demo ERP API token (shown once): [bold]{logins.erp_token}[/bold]")
        console.print(f"Demo orders: {', '.join(seeded)}. Press Ctrl-C to stop.")
        run_hub(hub, host="127.0.0.1", port=port, worker=True)
    finally:
        bank.terminate()
        try:
            bank.wait(timeout=10)
        except subprocess.TimeoutExpired:
            bank.kill()
