"""Code that runs inside the cloud (ECS tasks, Batch jobs, Lambda handlers).

Payloads import only boto3 and their own libraries, never the CLI or the local cloud, so
the same module runs in a container on AWS and as a local process on the local cloud.
"""
