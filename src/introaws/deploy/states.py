"""What ``up`` and ``down`` do with a stack in each CloudFormation state: one table.

Every state CloudFormation can report has a row (a test holds the table against botocore's
list), so a stack a reader left half-done — a failed create, a failed delete, a rollback
that failed, an operation still running — is met with the one right action, never "up to
date" and never a raw API error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from introaws.errors import Conflict
from introaws.i18n import _


class Action(Enum):
    CREATE = "create"  # nothing there: create
    UPDATE = "update"  # a stack that can take a change set: update it
    RECREATE = "recreate"  # a stack that can only be deleted (or is empty): delete it, then create
    CONTINUE_ROLLBACK = "continue-rollback"  # ContinueUpdateRollback, then decide again
    FOLLOW = "follow"  # an operation is running: follow its events to its end, then decide again
    DELETE = "delete"  # delete it (buckets and repositories emptied first)
    RETRY_DELETE = "retry-delete"  # an earlier delete failed: say what it left and why, delete again
    NOTHING = "nothing"  # already gone
    REFUSE = "refuse"  # introaws cannot act on it; the message says what to do


@dataclass(frozen=True)
class Row:
    up: Action
    down: Action


A = Action
STATES: dict[str, Row] = {
    "CREATE_IN_PROGRESS": Row(A.FOLLOW, A.FOLLOW),
    "CREATE_FAILED": Row(A.RECREATE, A.DELETE),
    "CREATE_COMPLETE": Row(A.UPDATE, A.DELETE),
    "ROLLBACK_IN_PROGRESS": Row(A.FOLLOW, A.FOLLOW),
    "ROLLBACK_FAILED": Row(A.RECREATE, A.DELETE),
    "ROLLBACK_COMPLETE": Row(A.RECREATE, A.DELETE),
    "DELETE_IN_PROGRESS": Row(A.FOLLOW, A.FOLLOW),
    "DELETE_FAILED": Row(A.RECREATE, A.RETRY_DELETE),
    "DELETE_COMPLETE": Row(A.CREATE, A.NOTHING),
    "UPDATE_IN_PROGRESS": Row(A.FOLLOW, A.FOLLOW),
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": Row(A.FOLLOW, A.FOLLOW),
    "UPDATE_COMPLETE": Row(A.UPDATE, A.DELETE),
    "UPDATE_FAILED": Row(A.UPDATE, A.DELETE),  # rollback disabled: a new update may fix it
    "UPDATE_ROLLBACK_IN_PROGRESS": Row(A.FOLLOW, A.FOLLOW),
    "UPDATE_ROLLBACK_FAILED": Row(A.CONTINUE_ROLLBACK, A.DELETE),
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": Row(A.FOLLOW, A.FOLLOW),
    "UPDATE_ROLLBACK_COMPLETE": Row(A.UPDATE, A.DELETE),
    "REVIEW_IN_PROGRESS": Row(A.RECREATE, A.DELETE),  # a create never executed: an empty stack
    "IMPORT_IN_PROGRESS": Row(A.FOLLOW, A.FOLLOW),
    "IMPORT_COMPLETE": Row(A.UPDATE, A.DELETE),
    "IMPORT_ROLLBACK_IN_PROGRESS": Row(A.FOLLOW, A.FOLLOW),
    "IMPORT_ROLLBACK_FAILED": Row(A.REFUSE, A.DELETE),  # introaws never imports: someone else's work
    "IMPORT_ROLLBACK_COMPLETE": Row(A.UPDATE, A.DELETE),
}


def row(status: str, stack_name: str) -> Row:
    try:
        return STATES[status]
    except KeyError:
        raise Conflict(
            _("stack {stack_name} is in a state introaws does not know ({status})").format(
                stack_name=stack_name, status=status
            ),
            _("look at it in the CloudFormation console, or upgrade introaws"),
        ) from None
