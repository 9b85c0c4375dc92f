"""The HTML edition: the Sphinx extension, the pages' markup, the chapters' execution records."""
