"""Moderation: mutes and bans in groups and rooms, and reports of messages for staff."""
