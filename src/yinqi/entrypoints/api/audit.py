"""`GET /api/v1/audit-events`: the audit trail for auditors and admins (permission `audit.read`).

Newest first, one keyset page at a time: the response's `next_before_seq` goes back as
`before_seq` for the next, older page (null at the end). A non-admin sees only the events of the
companies granted to them and those of no company (`application.audit.list_events`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from yinqi.application import audit
from yinqi.domain.identity.principal import Principal
from yinqi.entrypoints.api.deps import CurrentPrincipal

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit-events")
async def list_audit_events(
        request: Request, principal: CurrentPrincipal,
        actor: Annotated[str | None, Query(max_length=200, description="Exact actor id (username).")] = None,
        action: Annotated[str | None, Query(max_length=100, description="Action prefix, e.g. `order.`")] = None,
        object: Annotated[str | None, Query(max_length=200, description="Exact object id.")] = None,
        outcome: Annotated[str | None, Query(description="success, denied or failed.")] = None,
        since: Annotated[str | None, Query(max_length=40, description="`7d`, `12h`, a date or a date-time.")] = None,
        until: Annotated[str | None, Query(max_length=40, description="Exclusive; same forms as since.")] = None,
        company: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before_seq: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    """Raises FORBIDDEN without `audit.read`, AUDIT_FILTER_INVALID for an unreadable filter."""
    hub = request.app.state.hub
    return await run_in_threadpool(_page, hub, principal, actor=actor, action=action, object_id=object,
                                   outcome=outcome, since=since, until=until, company=company, limit=limit,
                                   before_seq=before_seq)


def _page(hub: Any, principal: Principal, *, actor: str | None, action: str | None, object_id: str | None,
          outcome: str | None, since: str | None, until: str | None, company: str | None, limit: int,
          before_seq: int | None) -> dict[str, Any]:
    now = hub.clock.now()
    flt = audit.AuditFilter(actor_id=actor or None, action_prefix=action or None, object_id=object_id or None,
                            outcome=audit.check_outcome(outcome),
                            since=audit.parse_when(since, now=now, where="since") if since else None,
                            until=audit.parse_when(until, now=now, where="until") if until else None,
                            company_id=company or None)
    with hub.uow() as uow:
        page = audit.list_events(uow, principal=principal, flt=flt, limit=limit, before_seq=before_seq)
    return {"events": [e.as_dict() for e in page.events], "next_before_seq": page.next_before_seq}
