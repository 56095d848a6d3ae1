"""Dispatch: nearest available qualified technician, nearest stock, assignment, spare-unit swaps."""
