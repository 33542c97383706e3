"""Bulk re-validation of stored archives under a policy: `courtdoc revalidate` and `courtdoc diff`.

- `sources`: directory trees, ZIP files and manifests streamed item by item (`zipstream` reads a
  ZIP's central directory entry by entry, never the whole listing);
- `store`: the output directory: its lock, `results.jsonl` (whole lines only), and the SQLite
  index of finished items and checked contents that makes a run resumable;
- the content cache (`courtdoc.replay`, beside the sandbox it records, since the `bulk` workers
  use it too): a file's sandboxed inspection recorded once per (sha256, claimed type, policy) and
  replayed for every other copy of the same bytes;
- `runner`: the driver loop shared by the local backend (sandbox pool) and the queue backend
  (`queue`, Dramatiq `bulk` queue on Redis);
- `summary`, `diff`, `progress`: what the run writes and shows.
"""
