"""The PostgreSQL tenant of the backend seam, through psycopg 3 (the ``postgresql`` extra).

Nothing here is imported until a database URL names PostgreSQL, so the SQLite install does not
need psycopg.
"""
