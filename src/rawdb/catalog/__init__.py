"""The schema catalogue: partition periods and policy, the registry of period tables, their
DDL templates, and how a statement is routed over them.

Below the query functions and the partition maintenance that both use it; it knows tables and
periods, never how a query's rows are shaped.
"""
