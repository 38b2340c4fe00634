"""The cross-validation gate: its cases, pytest plugin, parts and shards, the report, releases."""
