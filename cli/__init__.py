"""The command-line interface: `courtdoc check`, `rules`, `revalidate`, `serve`, `worker`, and the
rich tables it prints."""
