"""The REST API application: routers, error handlers and the hub they run against.

`create_app` is what tests and `yinqi serve` call; the OpenAPI page is at /docs. Routers read
`app.state.hub` (a `yinqi.bootstrap.Hub`), so a composed app (API + console) only has to set it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from yinqi.application.ports import Clock
from yinqi.bootstrap import Hub, build_hub
from yinqi.config import Settings
from yinqi.entrypoints.api import approvals as approvals_api
from yinqi.entrypoints.api import audit as audit_api
from yinqi.entrypoints.api import beneficiaries, orders
from yinqi.entrypoints.api import imports as order_imports
from yinqi.entrypoints.api import ping as ping_api
from yinqi.entrypoints.api import reconciliation as recon_api
from yinqi.entrypoints.api import users as users_api
from yinqi.entrypoints.api.errors import install_error_handlers
from yinqi.entrypoints.security_headers import install_security_headers


def create_app(*, engine: Engine, settings: Settings, clock: Clock | None = None,
               connector: Any = None, hub: Hub | None = None) -> FastAPI:
    """The API for a hub: the one given, or one built from `engine`, `settings` and `clock`."""
    hub = hub or build_hub(settings, clock=clock, engine=engine)
    if connector is not None:
        hub.connectors["SANDBOX"] = connector
    return build_api(hub)


def build_api(hub: Hub, app: FastAPI | None = None) -> FastAPI:
    """Mount the API routers and error handlers on `app` (a new one if None) for `hub`."""
    app = app or FastAPI(title="Yinqi payment hub", version="0.1.0",
                         description="Payment orders, approvals, bank execution and the ledger. "
                                     "Every POST needs an Idempotency-Key header.")
    app.state.hub = hub
    app.include_router(orders.router)
    app.include_router(approvals_api.router)
    app.include_router(audit_api.router)
    app.include_router(beneficiaries.router)
    app.include_router(order_imports.router)
    app.include_router(users_api.router)
    app.include_router(recon_api.router)
    app.include_router(ping_api.router)
    install_error_handlers(app)
    install_security_headers(app)
    return app
