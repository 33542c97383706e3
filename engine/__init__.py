"""Runs the pure checkers safely: the sandbox (a process pool with time and memory limits),
format inspection, and the content-addressed replay cache of earlier results."""
