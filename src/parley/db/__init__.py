"""Persistence: SQLAlchemy models, one query module per aggregate, migrations."""
