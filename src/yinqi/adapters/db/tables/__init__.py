"""Every table of the hub, one module per domain concept. Importing this package registers them
all on `yinqi.adapters.db.metadata.metadata`."""

from importlib import import_module

for _module in ("ledger", "orders", "idempotency", "outbox", "bank_messages", "statements", "audit",
                "reconciliation", "screening", "approvals", "beneficiaries", "identity",
                "field_keys", "imports", "statement_checks"):
    try:
        import_module(f"{__name__}.{_module}")
    except ModuleNotFoundError as exc:  # a concept not built yet; its module does not exist
        if exc.name != f"{__name__}.{_module}":
            raise
