#!/usr/bin/env bash
# The static checks CI runs before the tests: ruff, mypy, the import layering contracts and the
# generated rules reference. Run from the repository root with the virtual environment active.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
# mypy and lint-imports name modules after the folder that holds __init__.py, and a clone's folder
# may have any name: check the package under its real name, through a link.
pkg_link="$(mktemp -d)"
trap 'rm -rf "$pkg_link"' EXIT
ln -s "$PWD" "$pkg_link/courtdoc"
MYPYPATH="$pkg_link" mypy -p courtdoc
# The import layering contracts of pyproject.toml ([tool.importlinter]).
PYTHONPATH="$pkg_link" lint-imports
python -m courtdoc.core.rules | diff -u docs/rules.md - \
    || { echo "docs/rules.md is stale: python -m courtdoc.core.rules > docs/rules.md" >&2; exit 1; }
