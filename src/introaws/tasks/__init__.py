"""Task payloads: code that runs inside the cloud (containers, Batch jobs, Lambdas).

Each stands alone: boto3 and its own libraries, never the CLI. ``containers/<name>`` packages
one for AWS; the local cloud runs the very same module as a process.
"""
