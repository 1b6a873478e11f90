"""introaws: the hands-ons of "Intro to AWS through code" as one CLI.

Layers, top to bottom (see docs/architecture.md): cli -> workflows -> stacks/deploy
-> target -> localcloud. Task payloads in ``introaws.tasks`` run inside the cloud.
"""

__version__ = "0.1.0"
