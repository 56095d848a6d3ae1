"""Photos and signatures: storage, image processing, signature rendering."""

from media import hooks  # noqa: E402,F401  (complete photo/signature rows saved by any code path)
