"""Filing-level checks: declared documents against files, names against titles, time limits.

`normalize` turns titles and file names in Kazakh, Russian and English into comparable tokens,
`assign` pairs declared entries with files one to one, `listparse` reads an application's list
of attachments (`listlines` says what each line is, `listtable` reads tables), `metadata` reads
the filing's metadata, and `rules` turns all of it into issues.
"""
