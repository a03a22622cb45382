"""Uploaded files and the attachments messages carry."""
