"""Drip's numbered MariaDB migrations (``NNNN_name.sql``)."""
