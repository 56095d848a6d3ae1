"""Photos and signatures: storage, image processing, signature rendering."""
