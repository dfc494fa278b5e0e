"""Readers: a document file's bytes -> its text as ragbot.corpus reads it (registry.py picks one a format)."""
