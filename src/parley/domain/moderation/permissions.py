"""Who moderates a group or room: its owner and admins, and admins and super-agents anywhere."""

from __future__ import annotations

from parley.db.models import ConversationMember
from parley.domain.accounts.principal import Principal
from parley.domain.conversations.schemas import MemberRole
from parley.domain.roles import Role

MODERATORS = frozenset({Role.ADMIN, Role.SUPER_AGENT})
"""Roles that moderate every group and room."""

ROOM_MODERATORS = frozenset({MemberRole.OWNER, MemberRole.ADMIN})
"""Member roles that moderate their own group or room (the conversation's managers)."""


def may_moderate(member: ConversationMember | None, principal: Principal) -> bool:
    return principal.role in MODERATORS or (
        member is not None and MemberRole(member.role) in ROOM_MODERATORS
    )
