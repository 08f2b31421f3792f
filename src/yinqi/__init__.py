"""Yinqi: a payment and settlement hub for bank-enterprise direct connect (银企直联)."""

__version__ = "0.1.0"
