"""SWIFT MT messages: MT940 customer statements and MT942 interim reports (read only)."""
