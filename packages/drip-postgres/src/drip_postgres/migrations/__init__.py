"""Drip's numbered PostgreSQL migrations (``NNNN_name.sql``)."""
