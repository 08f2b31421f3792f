"""One POST, run under its `Idempotency-Key`, with a refusal recorded in the audit trail.

Routes whose refusals are business events (a beneficiary change refused, a reconciliation decision
refused) share this: the work runs in `run_idempotent`'s transaction, so a refused attempt leaves
nothing but its stored answer; the refusal is audited afterwards in its own transaction, because
the refused one has rolled back by then. Malformed requests (VALIDATION_FAILED) are answered but
not audited: they are input errors, not attempts the trail should hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from yinqi.application import audit
from yinqi.application.idempotency import IdempotentRequest, StoredResponse, run_idempotent
from yinqi.domain.identity.principal import Principal
from yinqi.domain.problems import DomainError, ValidationFailed
from yinqi.entrypoints.api.errors import json_response, render_error

__all__ = ["MAX_BODY_BYTES", "audited_idempotent"]

MAX_BODY_BYTES = 64 * 1024


async def audited_idempotent(request: Request, principal: Principal, key: str | None, *, action: str,
                             object_type: str, object_id: str | None, work: Callable[[Any, bytes], StoredResponse],
                             location: Callable[[str], str] | None = None) -> Response:
    """`work(uow, body)` once per key; `location(resource_id)` names a created resource (201)."""
    body = await request.body()
    hub = request.app.state.hub
    idem = IdempotentRequest(scope=f"user:{principal.actor_id}", key=key, method=request.method,
                             path=request.url.path, body=body)
    refused: list[DomainError] = []

    def attempt(uow: Any) -> StoredResponse:
        try:
            if len(body) > MAX_BODY_BYTES:
                raise ValidationFailed([DomainError(f"request body is larger than {MAX_BODY_BYTES} bytes",
                                                    rule="max_body_size").as_problem()])
            return work(uow, body)
        except DomainError as exc:
            refused.append(exc)
            raise

    def run() -> Any:
        outcome = run_idempotent(request=idem, new_uow=hub.uow, clock=hub.clock, work=attempt,
                                 render_error=lambda exc: StoredResponse(*render_error(exc)))
        if refused and not isinstance(refused[0], ValidationFailed):  # after the refused transaction ended
            audit.record_refusal(hub.uow, principal=principal, action=action, object_type=object_type,
                                 object_id=object_id, at=hub.clock.now(), error=refused[0])
        return outcome

    outcome = await run_in_threadpool(run)
    headers = {"Idempotency-Replayed": "true"} if outcome.replayed else {}
    if location is not None and outcome.response.status == 201 and outcome.response.resource_id:
        headers["Location"] = location(outcome.response.resource_id)
    return json_response(outcome.response.status, outcome.response.body, headers=headers)
