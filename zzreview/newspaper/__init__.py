"""The newspaper page: its text as received, its layout (articles, parts, paragraphs) and the numerals in it."""
