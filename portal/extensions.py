"""Flask extensions, created unbound and initialised in create_app.

Flask-Migrate is not among them: it pulls in Alembic (about 11 MB per process), which only `flask db` and the
tests need, so create_app sets it up only for those (portal.init_migrations).
"""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from portal.db import Base

db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
