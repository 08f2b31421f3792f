"""The console's order import: upload a file, watch the job, read the error report.

`GET /import` shows the upload form (file, mode, dry run); `POST /import` (CSRF-checked) starts
the job in a background thread and redirects to `/import/{job_id}`, whose page polls
`/import/{job_id}.json` once a second with a few lines of inline JavaScript (no external script)
until the job is finished, then shows the report table (row, field, rule, message). A dry run
stores nothing, not even a job, so its report is rendered straight away on the form page.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from yinqi.adapters.files import MAX_FILE_BYTES
from yinqi.application.import_report import ImportMode
from yinqi.bootstrap import Hub
from yinqi.domain.identity.permissions import Permission, require
from yinqi.domain.problems import DomainError, NotFound
from yinqi.entrypoints.api.imports import Upload, job_view
from yinqi.entrypoints.web import csrf
from yinqi.entrypoints.web.console import TEMPLATES
from yinqi.entrypoints.web.session import ConsolePrincipal, console_principal

__all__ = ["build_imports_router"]

NO_STORE = {"Cache-Control": "no-store"}


def build_imports_router(hub: Hub) -> APIRouter:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(console_principal)])

    def page(request: Request, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        token = csrf.new_token(request)
        response = TEMPLATES.TemplateResponse(request, "import.html", {
            "section": "import", "csrf_token": token, "modes": [m.value for m in ImportMode],
            "mode": ImportMode.ALL_OR_NOTHING.value, "report": None, "problem": None, **context},
            status_code=status, headers=NO_STORE)
        csrf.issue(request, response, token)
        return response

    @router.get("/import", response_class=HTMLResponse)
    def import_page(request: Request, principal: ConsolePrincipal) -> HTMLResponse:
        require(principal, Permission.ORDER_IMPORT)  # else the console's 403 page
        return page(request, {})

    @router.post("/import")
    async def upload(request: Request, principal: ConsolePrincipal, file: UploadFile = File(...),
                     csrf_token: str = Form(""), mode: str = Form(ImportMode.ALL_OR_NOTHING.value),
                     dry_run: str = Form("")) -> Response:
        csrf.check(request, csrf_token)
        data = await file.read(MAX_FILE_BYTES + 1)
        chosen = ImportMode(mode) if mode in {m.value for m in ImportMode} else ImportMode.ALL_OR_NOTHING
        if len(data) > MAX_FILE_BYTES:
            return page(request, {"problem": f"the file is larger than {MAX_FILE_BYTES} bytes"}, 413)
        job = Upload(hub=hub, principal=principal, data=data, file_name=file.filename or "upload",
                     company_id=hub.settings.company_id, mode=chosen, format=None)
        try:
            if dry_run:
                result = job.run(None, dry_run=True)
                report = {**result.as_json(), "errors": [e.as_dict() for e in result.errors]}  # with their codes
                return page(request, {"mode": chosen.value, "report": _report_view(report, result.status,
                                                                                    file.filename or "")})
            job_id = job.start()
        except DomainError as exc:
            return page(request, {"problem": f"{exc.code}: {exc.message}"}, 403 if exc.code == "FORBIDDEN" else 422)
        threading.Thread(target=job.run_logged, args=(job_id,), name=f"import-{job_id}", daemon=True).start()
        return RedirectResponse(f"/import/{job_id}", status_code=303)

    @router.get("/import/{job_id}.json")
    def job_json(job_id: str, principal: ConsolePrincipal) -> JSONResponse:
        return JSONResponse(_job(hub, principal, job_id), headers=NO_STORE)

    @router.get("/import/{job_id}", response_class=HTMLResponse)
    def job_page(request: Request, job_id: str, principal: ConsolePrincipal) -> HTMLResponse:
        job = _job(hub, principal, job_id)
        return TEMPLATES.TemplateResponse(request, "import_job.html", {"section": "import", "job": job},
                                          headers=NO_STORE)

    return router


def _job(hub: Hub, principal: Any, job_id: str) -> dict[str, Any]:
    try:
        return job_view(hub, principal, job_id)
    except NotFound:  # FORBIDDEN (no order.read) goes on to the console's 403 page
        raise HTTPException(404, "no such import job") from None


def _report_view(report: dict[str, Any], status: str, file_name: str) -> dict[str, Any]:
    return {**report, "status": status, "file_name": file_name}
