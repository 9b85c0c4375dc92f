"""The charts: the forms a figure may take, how each is drawn, and a figure's files."""
