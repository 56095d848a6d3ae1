"""The demo data set: ``flask seed-demo``."""
