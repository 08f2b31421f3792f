"""Approval: who must approve a payment order before its money moves (maker–checker).

- `policy`: the declarative rule set (a TOML document, versioned by the application), its
  validation and the order facts its conditions read;
- `plan`: an order, its holds and the policy → the ordered approval steps (or auto-approval);
- `workflow`: the approvals recorded so far → the next step, and every refusal with its own code
  (segregation of duties, limits, step-up, expiry, invalidation).

Pure: no I/O, no clock (times are passed in).
"""
