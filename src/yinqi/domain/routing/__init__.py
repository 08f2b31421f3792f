"""Routing: which bank channel carries each approved payment order, and why (see `rules`)."""
