"""The corpus: blocks.py normalises text into blocks that keep source offsets, folder.py loads a folder's documents
and metadata, edit.py adds and removes documents."""
