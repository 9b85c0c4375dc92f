"""The PDF edition: Sphinx's LaTeX document shaped, and what TeX made of it checked."""
