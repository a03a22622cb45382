"""Notifications: per-conversation mutes, and pushes to the devices of offline members."""
