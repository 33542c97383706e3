"""PDF checks: structure, security, text-layer fonts and scan pages."""
