"""Bashoutter, the haiku SNS: its Lambda handlers live in :mod:`api` (deployed as this directory)."""
