"""The HTML edition: the Sphinx extension, the pages' markup, their history, the chapters' execution records."""
