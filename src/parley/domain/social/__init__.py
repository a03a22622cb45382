"""Who knows whom: friends, friend requests and blocks, and the rules they set for others."""
