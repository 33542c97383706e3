"""courtdoc: document-conformance validation for court e-filing."""

__version__ = "0.1.0"
