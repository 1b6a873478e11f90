"""The deploy engine: CDK stacks to CloudFormation, without the CDK CLI or ``cdk bootstrap``.

synth (cached, in-process) -> assets (published to introaws's own bucket) -> change set
(plan; ``--dry-run`` stops here and shows it) -> execute (events streamed as progress)
-> outputs. ``destroy`` empties what CloudFormation cannot delete full, then deletes.
"""
