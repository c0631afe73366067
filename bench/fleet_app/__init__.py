"""A tenant app for the fleet-migration benchmark only (settings add it when DRCRM_BENCH=1).

Its migrations live in three packages the benchmark switches between with
MIGRATION_MODULES, so the code "gains" a migration during the run:
v1 = 0001 (a table), v2 = v1 + 0002 (add a column), v3 = v2 + 0003 (add another column).
"""
