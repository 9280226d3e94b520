"""``rawdb copy``: move a rawdb database from SQLite to PostgreSQL, online, resumable, verified.

The source stays in use while it is copied (each unit is read in one read transaction, which
does not stop SQLite's writer). The work is cut into units: each small table whole, and
``market_data``, ``alert_logs`` and the minute and hour bars by period. A unit is written and
recorded in the target's ``rawdb_copy_progress`` in one PostgreSQL transaction, so a copy
stopped anywhere resumes at the first unit not recorded. Every unit is verified: its rows are
counted and checksummed on both sides (the values as the target's column types hold them);
a unit whose source changed since it was copied (the live month, say) is copied again. Run
the copy while the application runs, then once more after stopping its writers: the second
run copies only what changed, and says whether everything matches.
"""

from rawdb.transfer.run import CopyReport, UnitReport, copy_database

__all__ = ["CopyReport", "UnitReport", "copy_database"]
