"""Who may do what: the four roles and the staff set."""

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPER_AGENT = "super-agent"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.AGENT, Role.SUPER_AGENT, Role.ADMIN})
"""Roles that self-registration can never grant; only an admin assigns them."""

SELF_SERVICE_ROLES = frozenset({Role.CUSTOMER})


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
