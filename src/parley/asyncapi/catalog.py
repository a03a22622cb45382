"""What each socket command takes and what it answers, as the typed shapes of the code.

The handler tables (`EVENTS` of each Socket.IO namespace, `HANDLERS` of each `/ws` session)
say which commands exist; this says what they carry: the model its handler validates it with,
and the shape of its answer (the acknowledgement's data: the REST model it dumps, or the
TypedDict it builds). The AsyncAPI document is built from both, and refuses to build when a
command of a table has no entry here, so a new command without a model fails the test run
(tests/api/test_asyncapi.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel

from parley.domain.accounts.schemas import (
    OtpProfile,
    OtpRequest,
    OtpVerify,
    PushTokenSet,
    SessionPublic,
)
from parley.domain.conversations.schemas import (
    MessagePublic,
    MessageSend,
    ReactionChange,
    ReactionCommand,
    ReadReceipt,
)
from parley.domain.conversations.search import SearchPage
from parley.domain.events import Shape
from parley.domain.gameplay.rooms import RoomPublic
from parley.domain.gameplay.schemas import (
    ActionTaken,
    CreateRoom,
    ListRooms,
    PlayerAction,
    QuickMatch,
    RoomRef,
)
from parley.domain.moderation.schemas import (
    ReportPage,
    ReportPublic,
    RestrictionList,
    RestrictionPublic,
)
from parley.domain.notifications.schemas import MuteState
from parley.domain.presence import PresenceChanged
from parley.domain.social.schemas import (
    BlockPublic,
    FriendPublic,
    FriendRequestOutcome,
    RequestRef,
    UserRef,
)
from parley.domain.uploads.schemas import UploadPublic
from parley.realtime.chat.answers import (
    BlockList,
    CancelAnswer,
    FriendList,
    FriendRequestList,
    JoinAnswer,
    LeaveAnswer,
    RejectAnswer,
    Synced,
    TypingAnswer,
    UnblockAnswer,
    UnfriendAnswer,
    UnwatchAnswer,
)
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
    LiftAnswer,
    LiftCommand,
    ReportAnswer,
    ReportClose,
    ReportCommand,
    ReportList,
    RestrictCommand,
    RoomCommand,
)
from parley.realtime.chat.namespace import SignedIn
from parley.realtime.chat.phone_events import (
    DeviceInfo,
    DeviceInfoAnswer,
    HeartbeatAnswer,
    LoginAnswer,
    SetProfileAnswer,
    VerifyOtpAnswer,
)
from parley.realtime.gameplay.live import RoomLeft, RoomList
from parley.realtime.gameplay.namespace import Alive, GameGreeting
from parley.realtime.signin import AuthCommand, Renewal, SyncCommand
from parley.realtime.transports.websocket_frames import Pong

Payload = type[BaseModel] | None
"""None: the command takes no fields (anything sent is ignored)."""


class Command(NamedTuple):
    payload: Payload
    reply: Any
    """The shape of its answer (a `Shape`, or a union of them)."""
    summary: str


VIEW = "View a conversation (an open room by name: join it)."
SEND = "Send a message."
READ = "Mark a conversation read up to a message."
LEAVE = "Stop viewing a conversation."

CHAT: dict[str, Command] = {
    "authenticate": Command(
        AuthCommand, SignedIn | Renewal, "Sign the connection in, or renew its access token."
    ),
    "auth": Command(
        AuthCommand, Renewal, "Renew the access token with a fresh one of the same user."
    ),
    "join": Command(ConversationCommand, JoinAnswer, VIEW),
    "join_room": Command(ConversationCommand, JoinAnswer, VIEW),
    "join_chat": Command(ConversationCommand, JoinAnswer, "View a conversation."),
    "leave": Command(ConversationCommand, LeaveAnswer, LEAVE),
    "leave_room": Command(
        ConversationCommand, LeaveAnswer, "Stop viewing; on Socket.IO also leave an open room."
    ),
    "leave_chat": Command(ConversationCommand, LeaveAnswer, LEAVE),
    "message": Command(MessageSend, MessagePublic, SEND),
    "send_message": Command(MessageSend, MessagePublic, SEND),
    "send": Command(MessageSend, MessagePublic, SEND),
    "typing": Command(TypingCommand, TypingAnswer, "Start or stop typing in a conversation."),
    "read": Command(ReadCommand, ReadReceipt, READ),
    "read_receipt": Command(ReadCommand, ReadReceipt, READ),
    "mark_read": Command(ReadCommand, ReadReceipt, READ),
    "edit_message": Command(EditCommand, MessagePublic, "Edit one of your messages."),
    "delete_message": Command(DeleteCommand, MessagePublic, "Delete one of your messages."),
    "subscribe_status": Command(WatchCommand, PresenceChanged, "Hear a user's presence changes."),
    "unsubscribe_status": Command(
        WatchCommand, UnwatchAnswer, "Stop hearing a user's presence changes."
    ),
    "sync": Command(
        SyncCommand,
        Synced,
        "Catch up: the messages after the last seq you have, per conversation.",
    ),
    "heartbeat": Command(None, HeartbeatAnswer, "Keep the connection and presence alive."),
    "ping": Command(None, Pong, "Answered `pong`."),
    "login": Command(OtpRequest, LoginAnswer, "Phone sign-in: send a one-time code."),
    "verify_otp": Command(
        OtpVerify, VerifyOtpAnswer, "Phone sign-in: check the code, sign the socket in."
    ),
    "set_profile": Command(OtpProfile, SetProfileAnswer, "Phone sign-in: name the new account."),
    "device_info": Command(
        DeviceInfo, DeviceInfoAnswer, "Describe the device (kept for its session)."
    ),
    "friend_request": Command(UserRef, FriendRequestOutcome, "Ask a user to be friends."),
    "accept_friend_request": Command(RequestRef, FriendPublic, "Accept a friend request."),
    "reject_friend_request": Command(RequestRef, RejectAnswer, "Reject a friend request."),
    "cancel_friend_request": Command(
        RequestRef, CancelAnswer, "Withdraw a friend request you sent."
    ),
    "remove_friend": Command(UserIdCommand, UnfriendAnswer, "End a friendship."),
    "list_friends": Command(None, FriendList, "Your friends."),
    "list_friend_requests": Command(
        RequestList, FriendRequestList, "Friend requests, incoming or outgoing."
    ),
    "block_user": Command(UserRef, BlockPublic, "Block a user."),
    "unblock_user": Command(UserIdCommand, UnblockAnswer, "Unblock a user."),
    "list_blocks": Command(None, BlockList, "The users you block."),
    "react": Command(ReactionCommand, ReactionChange, "Add a reaction to a message."),
    "add_reaction": Command(ReactionCommand, ReactionChange, "Add a reaction to a message."),
    "unreact": Command(ReactionCommand, ReactionChange, "Remove your reaction from a message."),
    "remove_reaction": Command(
        ReactionCommand, ReactionChange, "Remove your reaction from a message."
    ),
    "search_messages": Command(
        SearchCommand, SearchPage, "Full-text search of your conversations."
    ),
    "upload": Command(FileCommand, UploadPublic, "Upload a file as a Socket.IO binary attachment."),
    "mute_conversation": Command(
        MuteCommand, MuteState, "Mute a conversation's pushes (until a time)."
    ),
    "unmute_conversation": Command(ConversationCommand, MuteState, "Unmute a conversation."),
    "set_push_token": Command(PushTokenSet, SessionPublic, "This device's push token."),
    "clear_push_token": Command(None, SessionPublic, "Forget this device's push token."),
    "mute_member": Command(
        RestrictCommand, RestrictionPublic, "Moderators: mute a member of a group or room."
    ),
    "unmute_member": Command(LiftCommand, LiftAnswer, "Moderators: lift a member's mute."),
    "ban_member": Command(
        RestrictCommand, RestrictionPublic, "Moderators: ban a user from a group or room."
    ),
    "unban_member": Command(LiftCommand, LiftAnswer, "Moderators: lift a user's ban."),
    "list_mutes": Command(
        RoomCommand, RestrictionList, "Moderators: the mutes in force in a group or room."
    ),
    "list_bans": Command(
        RoomCommand, RestrictionList, "Moderators: the bans in force in a group or room."
    ),
    "report_message": Command(
        ReportCommand, ReportAnswer, "Report a message you can read (not your own)."
    ),
    "list_reports": Command(
        ReportList, ReportPage, "Staff: reports newest first, of one status or all."
    ),
    "resolve_report": Command(
        ReportClose, ReportPublic, "Staff: close an open report (resolved or dismissed)."
    ),
}
"""The chat commands, on Socket.IO `/` and `/ws` (`/api/ws`)."""

GAMEPLAY: dict[str, Command] = {
    "authenticate": Command(
        AuthCommand, GameGreeting | Renewal, "Sign the connection in, or renew its access token."
    ),
    "auth": Command(
        AuthCommand, Renewal, "Renew the access token with a fresh one of the same user."
    ),
    "heartbeat": Command(None, Alive, "Keep the connection alive."),
    "ping": Command(None, Pong, "Answered `pong`."),
    "create_room": Command(CreateRoom, RoomPublic, "Open a game room, seated in it."),
    "join_room": Command(
        RoomRef, RoomPublic, "Take a seat in a room (a new name opens a relay room)."
    ),
    "join": Command(RoomRef, RoomPublic, "Take a seat in a room."),
    "quick_match": Command(
        QuickMatch, RoomPublic, "A seat in the oldest open room of a game, or a new room."
    ),
    "leave_room": Command(RoomRef, RoomLeft, "Give up your seat."),
    "leave": Command(RoomRef, RoomLeft, "Give up your seat."),
    "list_rooms": Command(ListRooms, RoomList, "Rooms with a free seat."),
    "player_action": Command(
        PlayerAction, ActionTaken, "A move or state update, relayed to the room in order."
    ),
}
"""The game commands, on Socket.IO `/gameplay` and `/ws/gameplay` (`/api/ws/gameplay`)."""

WS_REPLIES: dict[str, Shape] = {"authenticate": Renewal, "heartbeat": Pong}
"""Where plain WebSocket answers otherwise than Socket.IO: a connection signs in before its
first command (so `authenticate` only renews), and `heartbeat` is `ping`."""
