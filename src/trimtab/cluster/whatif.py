"""The what-if over a firm's current book on a Dask cluster (``trimtab compare-book --firm
--cluster``): docs/cluster.md.

The client cuts the firm's accounts into chunks of whole households, as the single-process
what-if does (:func:`trimtab.service.whatif.compare_firm_book`), and sends each worker a
chunk's account ids. The worker connects to the database itself, reads the chunk's inputs
and compares it with the very function the single-process run uses
(:func:`~trimtab.service.whatif.compare_chunk`, which lays each chunk out alone), so the
figures are the same; the client puts them together in the chunks' order. Nothing is
written: a chunk whose worker dies is compared again on another.
"""

from __future__ import annotations

import uuid
from typing import Any

from trimtab.cluster.evaluate import ClusterRun, worker_database, worker_engine
from trimtab.service.whatif import ChunkFigures, FirmWhatIf, compare_chunk
from trimtab.store.uow import UnitOfWork


def compare_on_cluster(
    plan: FirmWhatIf, chunks: list[list[str]], cluster: ClusterRun
) -> list[ChunkFigures | None]:
    """Every chunk compared on ``cluster``'s workers, in the order of ``chunks``."""
    from trimtab.cluster.run import connect

    database = worker_database(cluster.database)
    run = uuid.uuid4().hex[:8]
    keys = [f"trimtab-whatif-{run}-{i}" for i in range(len(chunks))]
    with connect(cluster.address) as client:
        futures: list[Any] = client.map(
            compare_chunk_on_worker,
            chunks,
            plan=plan,
            database=database,
            schema=cluster.schema,
            key=keys,
        )
        try:
            done: list[ChunkFigures | None] = client.gather(futures)
        finally:
            client.cancel(futures)
    return done


def compare_chunk_on_worker(
    chunk: list[str], plan: FirmWhatIf, database: str, schema: str | None
) -> ChunkFigures | None:
    """On a worker: the chunk read from the store and compared (reads only)."""
    with UnitOfWork(worker_engine(database, schema), plan.firm_id, read_only=True) as uow:
        return compare_chunk(uow, plan, chunk)
