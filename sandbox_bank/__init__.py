"""The sandbox bank: a separate process that behaves like a bank's host-to-host endpoint.

It speaks the formats a real bank does (pain.001 in, pain.002 and camt.053 out) over HTTPS with
its own dev CA, keeps its own accounts in its own database, and misbehaves on request (see
`faults`) so the hub's reliability promises can be tested against something real.

Package map: `config` (home, database), `store` (tables, accounts), `clearing` (booking one
pain.001), `intake` (validation, MsgId dedupe, answers), `statements` (camt.053), `faults`,
`bank` (the facade), `app` (HTTP), `tls` and `server` (uvicorn over TLS), `samples` (test input).
"""
