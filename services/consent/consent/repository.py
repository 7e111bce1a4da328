"""Persistence of the consent service (SQLAlchemy 2). Its tables are its own."""
from sqlalchemy import MetaData

metadata = MetaData()
