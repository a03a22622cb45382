"""Every table, imported here so that Alembic and `metadata` see all of them."""

from parley.db.models.accounts import DeviceSession, User
from parley.db.models.base import Base

__all__ = ["Base", "DeviceSession", "User"]
