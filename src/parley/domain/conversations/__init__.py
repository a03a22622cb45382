"""Conversations (direct, group, room, support), their members, messages and read pointers."""
