"""The HTTP interface: the FastAPI app and its models, uploads, request guards, idempotency keys,
and `courtdoc serve`, which runs the API beside its workers."""
