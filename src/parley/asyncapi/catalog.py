"""What each socket command takes, as the typed model its handler validates it with.

The handler tables (`EVENTS` of each Socket.IO namespace, `HANDLERS` of each `/ws` session)
say which commands exist; this says what they carry. The AsyncAPI document is built from
both, and refuses to build when a command of a table has no entry here, so a new command
without a model fails the test run (tests/api/test_asyncapi.py).
"""

from __future__ import annotations

from pydantic import BaseModel

from parley.domain.accounts.schemas import OtpProfile, OtpRequest, OtpVerify, PushTokenSet
from parley.domain.conversations.schemas import MessageSend, ReactionCommand
from parley.domain.gameplay.schemas import CreateRoom, ListRooms, PlayerAction, QuickMatch, RoomRef
from parley.domain.social.schemas import RequestRef, UserRef
from parley.realtime.chat.commands import (
    ConversationCommand,
    DeleteCommand,
    EditCommand,
    FileCommand,
    MuteCommand,
    ReadCommand,
    RequestList,
    SearchCommand,
    TypingCommand,
    UserIdCommand,
    WatchCommand,
)
from parley.realtime.chat.moderation import (
    LiftCommand,
    ReportClose,
    ReportCommand,
    ReportList,
    RestrictCommand,
    RoomCommand,
)
from parley.realtime.chat.phone_events import DeviceInfo
from parley.realtime.signin import AuthCommand, SyncCommand

Payload = type[BaseModel] | None
"""None: the command takes no fields (anything sent is ignored)."""

CHAT: dict[str, tuple[Payload, str]] = {
    "authenticate": (AuthCommand, "Sign the connection in, or renew its access token."),
    "auth": (AuthCommand, "Renew the access token with a fresh one of the same user."),
    "join": (ConversationCommand, "View a conversation (an open room by name: join it)."),
    "join_room": (ConversationCommand, "View a conversation (an open room by name: join it)."),
    "join_chat": (ConversationCommand, "View a conversation."),
    "leave": (ConversationCommand, "Stop viewing a conversation."),
    "leave_room": (ConversationCommand, "Stop viewing; on Socket.IO also leave an open room."),
    "leave_chat": (ConversationCommand, "Stop viewing a conversation."),
    "message": (MessageSend, "Send a message."),
    "send_message": (MessageSend, "Send a message."),
    "send": (MessageSend, "Send a message."),
    "typing": (TypingCommand, "Start or stop typing in a conversation."),
    "read": (ReadCommand, "Mark a conversation read up to a message."),
    "read_receipt": (ReadCommand, "Mark a conversation read up to a message."),
    "mark_read": (ReadCommand, "Mark a conversation read up to a message."),
    "edit_message": (EditCommand, "Edit one of your messages."),
    "delete_message": (DeleteCommand, "Delete one of your messages."),
    "subscribe_status": (WatchCommand, "Hear a user's presence changes."),
    "unsubscribe_status": (WatchCommand, "Stop hearing a user's presence changes."),
    "sync": (SyncCommand, "Catch up: the messages after the last seq you have, per conversation."),
    "heartbeat": (None, "Keep the connection and presence alive."),
    "ping": (None, "Answered `pong`."),
    "login": (OtpRequest, "Phone sign-in: send a one-time code."),
    "verify_otp": (OtpVerify, "Phone sign-in: check the code, sign the socket in."),
    "set_profile": (OtpProfile, "Phone sign-in: name the new account."),
    "device_info": (DeviceInfo, "Describe the device (kept for its session)."),
    "friend_request": (UserRef, "Ask a user to be friends."),
    "accept_friend_request": (RequestRef, "Accept a friend request."),
    "reject_friend_request": (RequestRef, "Reject a friend request."),
    "cancel_friend_request": (RequestRef, "Withdraw a friend request you sent."),
    "remove_friend": (UserIdCommand, "End a friendship."),
    "list_friends": (None, "Your friends."),
    "list_friend_requests": (RequestList, "Friend requests, incoming or outgoing."),
    "block_user": (UserRef, "Block a user."),
    "unblock_user": (UserIdCommand, "Unblock a user."),
    "list_blocks": (None, "The users you block."),
    "react": (ReactionCommand, "Add a reaction to a message."),
    "add_reaction": (ReactionCommand, "Add a reaction to a message."),
    "unreact": (ReactionCommand, "Remove your reaction from a message."),
    "remove_reaction": (ReactionCommand, "Remove your reaction from a message."),
    "search_messages": (SearchCommand, "Full-text search of your conversations."),
    "upload": (FileCommand, "Upload a file as a Socket.IO binary attachment."),
    "mute_conversation": (MuteCommand, "Mute a conversation's pushes (until a time)."),
    "unmute_conversation": (ConversationCommand, "Unmute a conversation."),
    "set_push_token": (PushTokenSet, "This device's push token."),
    "clear_push_token": (None, "Forget this device's push token."),
    "mute_member": (RestrictCommand, "Moderators: mute a member of a group or room."),
    "unmute_member": (LiftCommand, "Moderators: lift a member's mute."),
    "ban_member": (RestrictCommand, "Moderators: ban a user from a group or room."),
    "unban_member": (LiftCommand, "Moderators: lift a user's ban."),
    "list_mutes": (RoomCommand, "Moderators: the mutes in force in a group or room."),
    "list_bans": (RoomCommand, "Moderators: the bans in force in a group or room."),
    "report_message": (ReportCommand, "Report a message you can read (not your own)."),
    "list_reports": (ReportList, "Staff: reports newest first, of one status or all."),
    "resolve_report": (ReportClose, "Staff: close an open report (resolved or dismissed)."),
}
"""The chat commands, on Socket.IO `/` and `/ws` (`/api/ws`)."""

GAMEPLAY: dict[str, tuple[Payload, str]] = {
    "authenticate": (AuthCommand, "Sign the connection in, or renew its access token."),
    "auth": (AuthCommand, "Renew the access token with a fresh one of the same user."),
    "heartbeat": (None, "Keep the connection alive."),
    "ping": (None, "Answered `pong`."),
    "create_room": (CreateRoom, "Open a game room, seated in it."),
    "join_room": (RoomRef, "Take a seat in a room (a new name opens a relay room)."),
    "join": (RoomRef, "Take a seat in a room."),
    "quick_match": (QuickMatch, "A seat in the oldest open room of a game, or a new room."),
    "leave_room": (RoomRef, "Give up your seat."),
    "leave": (RoomRef, "Give up your seat."),
    "list_rooms": (ListRooms, "Rooms with a free seat."),
    "player_action": (PlayerAction, "A move or state update, relayed to the room in order."),
}
"""The game commands, on Socket.IO `/gameplay` and `/ws/gameplay` (`/api/ws/gameplay`)."""
