"""The people's pages: the pre-check page (`GET /`) and a filing's report behind a signed link."""
