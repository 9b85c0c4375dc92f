"""漳州公安 2021 — shared code of the review book: source → validated data → charts → chapters."""
