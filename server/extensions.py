"""Extension singletons, bound to the app in :func:`server.create_app`."""

from flask_compress import Compress
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy

from server.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = Api()
compress = Compress()  # gzip answers for clients that accept it (settings: server/config.py)
