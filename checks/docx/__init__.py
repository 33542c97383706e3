"""DOCX checks: package, effective formatting (fonts, sizes, line spacing)."""
