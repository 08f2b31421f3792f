"""The hub's one ASGI application: REST API, web console, static files, health and metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from yinqi.bootstrap import Hub
from yinqi.entrypoints.api.app import create_app
from yinqi.entrypoints.security_headers import install_security_headers
from yinqi.entrypoints.web import login
from yinqi.entrypoints.web.approvals import build_approvals_router
from yinqi.entrypoints.web.audit import build_audit_router
from yinqi.entrypoints.web.beneficiaries import build_beneficiaries_router
from yinqi.entrypoints.web.console import build_router
from yinqi.entrypoints.web.errors import install_console_errors
from yinqi.entrypoints.web.imports import build_imports_router
from yinqi.entrypoints.web.reconciliation import build_reconciliation_router
from yinqi.entrypoints.web.session import install_sign_in_redirect
from yinqi.entrypoints.web.users import build_users_router

STATIC = Path(__file__).parent / "web" / "static"


def build_app(hub: Hub) -> FastAPI:
    app = create_app(engine=hub.engine, settings=hub.settings, clock=hub.clock, hub=hub)
    app.include_router(build_router(hub))
    app.include_router(login.router)
    app.include_router(build_users_router(hub))
    install_sign_in_redirect(app)
    install_console_errors(app)  # console pages answer errors with HTML, the API with JSON
    install_security_headers(app)
    app.include_router(build_audit_router(hub))
    app.include_router(build_imports_router(hub))
    app.include_router(build_beneficiaries_router(hub))
    app.include_router(build_approvals_router(hub))
    app.include_router(build_reconciliation_router(hub))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
