"""Accounts: users, password and token sign-in, device sessions, roles."""
