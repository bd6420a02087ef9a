"""Durable stores: conversation history (SQLite, WAL)."""
