"""The data: one reader per input file, the quantity phrases parsed, bounds kept, every input validated."""
