"""One module per hands-on: plain functions that take a Target and return data.

They report progress through a ``report`` callable (see ``introaws.progress``) and never
print; the CLI renders what they return.
"""
