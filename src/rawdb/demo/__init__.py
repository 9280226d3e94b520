"""The demo: rawdb doing the job a trading application gives it."""
