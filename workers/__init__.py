"""Dramatiq actors on Redis: intake, filing barrier, callbacks, bulk re-validation."""
