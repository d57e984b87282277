"""Worker fixtures: the app in-process (its SQS handlers invoked as the event source would)."""

from tests.api.conftest import api  # noqa: F401 - the API fixture, reused to file what workers handle
