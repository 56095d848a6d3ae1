"""WSGI entry point: ``gunicorn wsgi:app``."""

import gc

from server import create_app

app = create_app()
# Everything built at start-up (the app, the models' metadata, compiled
# schemas) lives as long as the process: keep it out of the cyclic garbage
# collector's full scans, which otherwise rescan it on every request that
# allocates heavily (a 500-operation sync push).
gc.freeze()
