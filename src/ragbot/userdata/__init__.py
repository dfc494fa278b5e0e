"""What users leave behind and must be kept (answer feedback, quiz attempts), durably: SQLite or PostgreSQL.

records.py holds the records; base.py what the backends share (checks, rows, CSV export);
sqlite.py (the default, one file in data_dir) and postgres.py (store_url) only run SQL; factory.py
picks the backend from the settings. Each write is its own committed transaction, so a crash loses
at most the write in flight.
"""
