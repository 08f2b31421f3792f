"""The console's audit page, and `audit_refusal`: how any entry point records a refused request.

`audit_refusal(request, error)` is what the API's error handler calls for every refusal code, and
what console pages call before they render their own 401/403 page: the actor is the request's
principal (left on `request.state.principal` by authentication) or, when nobody signed in, an
anonymous principal carrying the client address; the action is "<METHOD> <route template>"; the
object is the first path parameter. It records in its own transaction (the refused action's is
already gone) and never raises: a refusal must still reach the client when the trail cannot be
written, and the failure is logged.

The audit page (`/audit`, permission `audit.read`) lists events newest first with filters and a
banner stating whether the whole chain verifies.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from yinqi.application import audit
from yinqi.bootstrap import Hub
from yinqi.domain.audit import OUTCOMES, AuditEvent
from yinqi.domain.identity.principal import Channel, Forbidden, Principal
from yinqi.domain.problems import DomainError
from yinqi.entrypoints.web.console import TEMPLATES
from yinqi.entrypoints.web.session import ConsolePrincipal, client_address

__all__ = ["anonymous_principal", "audit_refusal", "build_audit_router", "event_view", "refused_action"]

log = logging.getLogger("yinqi.audit")
NO_STORE = {"Cache-Control": "no-store"}
PAGE_SIZE = 100
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def anonymous_principal(request: Request) -> Principal:
    channel = Channel.API if request.url.path.startswith("/api/") else Channel.CONSOLE
    return Principal(user_id="anonymous", username="anonymous", roles=frozenset(), companies=frozenset(),
                     channel=channel, source_address=client_address(request))


def refused_action(request: Request) -> tuple[str, str, str | None]:
    """(action, object type, object id) of a request: the route's path template, not the raw path,
    so events of one route group together and no path value leaks into the action."""
    route = request.scope.get("route")
    template = getattr(route, "path", None) or request.url.path
    params = dict(request.path_params)
    if params:
        name, value = next(iter(params.items()))
        object_type = name.removesuffix("_id") or name
        text = str(value)  # a UUID is our own id, never an account; anything else may carry one: masked
        object_id = text if _UUID.fullmatch(text) else audit.mask_text(text)[:200]
        return f"{request.method} {template}", object_type, object_id
    segments = [s for s in template.split("/") if s and not s.startswith("{") and s not in ("api", "v1")]
    return f"{request.method} {template}", segments[-1] if segments else "route", None


def audit_refusal(request: Request, error: DomainError) -> None:
    """Record a refused request (outcome "denied") in its own transaction, unless the use case
    already recorded it; never raises."""
    if audit.refusal_recorded(error):
        return
    try:
        hub = request.app.state.hub
        principal = getattr(request.state, "principal", None) or anonymous_principal(request)
        action, object_type, object_id = refused_action(request)
        audit.record_refusal(hub.uow, principal=principal, action=action, object_type=object_type,
                             object_id=object_id, at=hub.clock.now(), error=error)
    except Exception:
        log.exception("could not record the refusal %s of %s %s", error.code, request.method, request.url.path)


def event_view(e: AuditEvent) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at.strftime("%Y-%m-%d %H:%M:%S"), "actor": e.actor_id, "channel": e.actor_channel,
            "source": e.source_address, "action": e.action, "object_type": e.object_type,
            "object_id": e.object_id or "", "outcome": e.outcome, "reason": e.reason,
            "company": e.company_id or "", "before": e.before, "after": e.after}


def _until(text: str, now: datetime) -> datetime | None:
    """The end of a "to" filter: a plain date includes that whole day."""
    if not text.strip():
        return None
    end = audit.parse_when(text, now=now, where="date_to")
    return end + timedelta(days=1) if len(text.strip()) == 10 else end


def build_audit_router(hub: Hub) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request, principal: ConsolePrincipal, actor: str = "", action: str = "",
                   object: str = "", outcome: str = "", date_from: str = "",
                   date_to: str = "", before: int | None = None, verify: bool = False) -> HTMLResponse:
        form = {"actor": actor, "action": action, "object": object, "outcome": outcome, "date_from": date_from,
                "date_to": date_to}
        context: dict[str, Any] = {"section": "audit", "form": form, "outcomes": sorted(OUTCOMES),
                                   "events": [], "next_before": None, "error": None, "verification": None}
        now = hub.clock.now()
        try:
            flt = audit.AuditFilter(
                actor_id=actor.strip() or None, action_prefix=action.strip() or None,
                object_id=object.strip() or None, outcome=audit.check_outcome(outcome.strip()),
                since=audit.parse_when(date_from, now=now, where="date_from") if date_from.strip() else None,
                until=_until(date_to, now))
            with hub.uow() as uow:
                page = audit.list_events(uow, principal=principal, flt=flt, limit=PAGE_SIZE, before_seq=before)
                if verify:  # the whole chain on request, not on every page view (it grows without bound)
                    context["verification"] = audit.verify(uow)
        except Forbidden as exc:
            audit_refusal(request, exc)
            return TEMPLATES.TemplateResponse(request, "audit.html", {**context, "denied": exc.message},
                                              status_code=403, headers=NO_STORE)
        except audit.AuditFilterInvalid as exc:
            context["error"] = exc.message
            return TEMPLATES.TemplateResponse(request, "audit.html", context, status_code=422, headers=NO_STORE)
        context["events"] = [event_view(e) for e in page.events]
        context["next_before"] = page.next_before_seq
        return TEMPLATES.TemplateResponse(request, "audit.html", context, headers=NO_STORE)

    return router
