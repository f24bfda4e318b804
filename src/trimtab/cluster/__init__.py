"""``drift``, ``propose-book`` and ``compare-book`` on a Dask cluster (``--cluster``):
docs/cluster.md.

The client cuts the book into partitions of whole households (:mod:`.plan`) and sends each
worker only a partition's description; the worker reads its accounts from the book files,
proposes (or compares the logics) through the one pipeline and writes its part file
(:mod:`.tasks`); the client then writes the output from the parts, in the single-process
run's order (:mod:`.run`).
"""

from trimtab.cluster.run import SCHEDULER_ENV, cluster_compare, cluster_drift, cluster_propose

__all__ = ["SCHEDULER_ENV", "cluster_compare", "cluster_drift", "cluster_propose"]
