"""The serverless runtime as one hook: Lambda ``Invoke``, REST APIs and S3 websites.

REST APIs run their functions on the Lambda runtime's warm workers, so the pieces are built
together and asked in turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from introaws.localcloud.runtime.apigw import RestApis
from introaws.localcloud.runtime.lambda_ import LambdaRuntime
from introaws.localcloud.runtime.website import Websites

if TYPE_CHECKING:
    from introaws.localcloud.front import Reply
    from introaws.localcloud.requests import Recorded
    from introaws.localcloud.runtime import Removed, RuntimeContext


class Serverless:
    def __init__(self, ctx: RuntimeContext) -> None:
        self.functions = LambdaRuntime(ctx)
        self.parts: list[Any] = [self.functions, RestApis(self.functions), Websites()]

    def handle(self, request: Recorded, forward: Any) -> Reply | None:
        for part in self.parts:
            reply = part.handle(request, forward)
            if reply is not None:
                return reply
        return None

    def follow_up(self, request: Recorded, removed: Removed) -> None:
        self.functions.follow_up(request, removed)

    def stop(self) -> None:
        for part in self.parts:
            part.stop()
