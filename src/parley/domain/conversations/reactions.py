"""Reactions: a member adds or removes an emoji on a message, once per user per emoji."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from parley.db import messages as message_queries
from parley.db import reactions as queries
from parley.db.models import Conversation
from parley.domain.accounts.principal import Principal
from parley.domain.conversations import access
from parley.domain.conversations.schemas import ReactionChange, ReactionCommand, ReactionEvent
from parley.domain.events import Event, conversation_channel, dump_as
from parley.domain.moderation.rules import RoomRules
from parley.domain.unit_of_work import UnitOfWork
from parley.errors import Conflict, NotFound, ValidationFailed

MAX_KINDS_PER_MESSAGE = 50
"""Different emoji one message may carry (its shape stays bounded)."""
REACTION_ADDED = "reaction.added"
REACTION_REMOVED = "reaction.removed"


class ReactionService:
    def __init__(self, uow: UnitOfWork, rules: RoomRules | None = None) -> None:
        self._uow = uow
        self._rules = rules or RoomRules()

    async def add(self, principal: Principal, command: ReactionCommand) -> ReactionChange:
        """Idempotent: adding the same emoji twice changes nothing."""
        try:
            return await self._change(principal, command, adding=True)
        except IntegrityError:  # the same reaction added twice at the same moment
            return await self._change(principal, command, adding=True)

    async def remove(self, principal: Principal, command: ReactionCommand) -> ReactionChange:
        """Idempotent: removing one that is not there changes nothing."""
        return await self._change(principal, command, adding=False)

    async def _change(
        self, principal: Principal, command: ReactionCommand, *, adding: bool
    ) -> ReactionChange:
        async with self._uow() as work:
            tx = work.tx
            message = await message_queries.find_message(tx, command.message_id)
            if message is None:
                raise NotFound("No message with that id.", code="message_not_found")
            await access.load(tx, message.conversation_id, principal)  # members only
            if message.deleted_at is not None:
                raise ValidationFailed(
                    "A deleted message takes no reactions.", code="message_deleted"
                )
            if adding:  # a muted member takes theirs back, adds none
                conversation = await tx.get(Conversation, message.conversation_id)
                if conversation is not None:
                    await self._rules.require_not_muted(tx, conversation, principal.user_id)
                fresh = await queries.count_of(tx, message.id, command.emoji) == 0
                if fresh and await queries.count_kinds(tx, message.id) >= MAX_KINDS_PER_MESSAGE:
                    raise Conflict(
                        f"A message carries at most {MAX_KINDS_PER_MESSAGE} different reactions.",
                        code="too_many_reactions",
                    )
                changed = await queries.add(tx, message.id, principal.user_id, command.emoji)
            else:
                changed = await queries.remove(tx, message.id, principal.user_id, command.emoji)
            change = ReactionChange(
                message_id=message.id,
                conversation_id=message.conversation_id,
                emoji=command.emoji,
                user_id=principal.user_id,
                count=await queries.count_of(tx, message.id, command.emoji),
                mine=adding,
            )
            if changed:
                data = dump_as(ReactionEvent, change)
                name = REACTION_ADDED if adding else REACTION_REMOVED
                work.emit(Event(conversation_channel(message.conversation_id), name, data))
            return change
