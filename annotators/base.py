"""The annotator contract: every machine step, whatever it runs.

An annotator has a `name`, a `version` (implementation + parameters + whatever else changes its
output: the provenance and cache key), `setup()` that loads models once per worker, and
`annotate(batch)` that returns one result per input. A bad input is a failed result with a
specific reason, never an exception that kills the batch. Only transient errors (a server that
will answer again later) raise, so the orchestrator can retry the batch.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel

from mercap.ids import content_hash
from schemas.records import Record, StageResult

log = logging.getLogger(__name__)


class HasItemId(Protocol):
    @property
    def item_id(self) -> str: ...


In = TypeVar("In", bound=HasItemId)
Out = TypeVar("Out", bound=Record)


class InputError(Exception):
    """This input cannot be annotated; `code` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class TransientError(Exception):
    """Worth retrying the whole batch later (a server restarting, a rate limit)."""


class Annotator(ABC, Generic[In, Out]):
    name: ClassVar[str]
    implementation: ClassVar[int] = 1  # bump when the code changes what it outputs

    def __init__(self, params: BaseModel):
        self.params = params

    @property
    def version(self) -> str:
        parts = [self.params.model_dump_json(), *self.environment()]
        return f"{self.name}@{self.implementation}:{content_hash(*parts)}"

    def environment(self) -> list[str]:
        """Versions of tools or models outside the parameters that change the output."""
        return []

    def setup(self) -> None:
        """Load models and check tools; runs once per worker process."""

    @abstractmethod
    def annotate_one(self, item: In) -> Out:
        """Annotate one item; raise InputError for a bad input."""

    def annotate(self, batch: Sequence[In]) -> list[StageResult[Out]]:
        results: list[StageResult[Out]] = []
        for item in batch:
            try:
                results.append(StageResult.ok(item.item_id, self.annotate_one(item)))
            except InputError as error:
                results.append(StageResult.failed(item.item_id, error.code, str(error)))
            except TransientError:
                raise
            except Exception as error:  # one odd sample must not kill its batch
                log.exception("%s failed on %s", self.name, item.item_id)
                reason = f"{type(error).__name__}: {error}"
                results.append(StageResult.failed(item.item_id, "internal_error", reason))
        return results


class WorkerAnnotators:
    """Annotators set up in this worker process, by version.

    Task runners ship a fresh copy of the annotator with every task; this keeps the first copy
    that was set up so models load once per worker, not once per batch.
    """

    def __init__(self) -> None:
        self._ready: dict[str, Annotator] = {}
        self._lock = threading.Lock()

    def get(self, annotator: Annotator) -> Annotator:
        with self._lock:
            ready = self._ready.get(annotator.version)
            if ready is None:
                annotator.setup()
                ready = self._ready[annotator.version] = annotator
            return ready


WORKER_ANNOTATORS = WorkerAnnotators()
