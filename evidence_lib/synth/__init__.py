"""Seeded synthetic companies: exports in vendor formats plus the exceptions planted in them."""
