"""Training data: shots from stim's DEM sampler with the fired mechanisms, as volumes and labels.

One :class:`ShotSource` per (distance, rounds, basis, p) task holds the DEM, its geometry and
its sites for a fixed class list; :meth:`ShotSource.sample` gives detection events and exact site
labels for a seeded batch. :class:`BatchStream` spreads batches over worker processes so that
data generation is not the bottleneck; each batch is fully determined by its seed, so a resumed
run sees the same data.

Shots that uncorrelated PyMatching decodes wrongly are where a pre-decoder can help, and they are
rare (about 1 in 70 at d = 5, p = 0.005). A batch can be enriched with them
(``hard_fraction``): the source samples chunks, decodes them with PyMatching, and keeps the
failures. The network then sees many more of the dense, ambiguous configurations it must learn;
the decision rule is still chosen on plain (unenriched) validation shots.

Seed spaces never overlap: training batches use ``seed * 2**20 + step`` style seeds below
:data:`VALIDATION_SEED_BASE`, validation uses seeds from it, and ``qplane bench decoder`` uses seeds
from :data:`TEST_SEED_BASE`.

>>> src = ShotSource.build(distance=3, rounds=3, basis="Z", p=0.005)
>>> events, labels = src.sample(shots=10, seed=1)
>>> events.shape, labels.shape == (10, src.sites.num_sites)
((10, 24), True)
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import multiprocessing
from typing import Iterator

import numpy as np
import stim

from qplane.codes import memory_circuit
from qplane.decoder.labels import ClassKey, SiteMap, mechanism_classes
from qplane.decoder.volume import SyndromeGeometry

#: First seed used for validation shots (training seeds stay below it).
VALIDATION_SEED_BASE = 1 << 40
#: First seed used for benchmark test shots (never used for training or validation).
TEST_SEED_BASE = 1 << 44
#: Shots sampled per mining chunk, and the most chunks mined for one batch's hard shots.
MINING_CHUNK = 4096
MAX_MINING_CHUNKS = 16


@dataclasses.dataclass(frozen=True)
class Task:
    """One noisy memory experiment the data comes from.

    ``dem_text``: a detector error model to sample instead of the uniform circuit's (a learned
    device model, on the structure of the nominal circuit's decomposed DEM); ``p`` then only
    names the nominal strength it was learned against.
    """

    distance: int
    rounds: int
    basis: str
    p: float
    dem_text: str = ""

    def circuit(self) -> stim.Circuit:
        return memory_circuit(distance=self.distance, rounds=self.rounds, basis=self.basis, p=self.p)

    def dem(self) -> stim.DetectorErrorModel:
        if self.dem_text:
            return stim.DetectorErrorModel(self.dem_text)
        return self.circuit().detector_error_model(decompose_errors=True)

    def sample_with_observables(self, shots: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``(events, observables)`` booleans from the task's noise (its DEM when given)."""
        if self.dem_text:
            events, obs, _ = self.dem().compile_sampler(seed=seed).sample(shots)
            return events, obs
        return self.circuit().compile_detector_sampler(seed=seed).sample(
            shots, separate_observables=True)


@dataclasses.dataclass(frozen=True, eq=False)
class ShotSource:
    """A task's DEM, geometry and sites, ready to sample labelled shots."""

    task: Task
    dem: stim.DetectorErrorModel
    geometry: SyndromeGeometry
    sites: SiteMap

    @classmethod
    def build(cls, *, distance: int, rounds: int, basis: str, p: float,
              classes: list[ClassKey] | None = None, dem_text: str = "") -> "ShotSource":
        """Build the source; ``classes`` default to the task's own mechanism classes."""
        task = Task(distance, rounds, basis, p, dem_text)
        dem = task.dem()
        geometry = SyndromeGeometry.from_dem(dem)
        if classes is None:
            classes = mechanism_classes(dem, geometry)
        return cls(task=task, dem=dem, geometry=geometry,
                   sites=SiteMap.from_dem(dem, geometry, list(classes)))

    @functools.cached_property
    def matching(self):
        """Uncorrelated PyMatching for this DEM (used to mine hard shots)."""
        import pymatching

        return pymatching.Matching.from_detector_error_model(self.dem)

    def sample(self, *, shots: int, seed: int,
               hard_fraction: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """``(events bool (shots, num_detectors), labels uint8 (shots, num_sites))``.

        With ``hard_fraction > 0``, up to that fraction of the shots are ones uncorrelated
        PyMatching gets wrong (mined from at most ``MAX_MINING_CHUNKS`` chunks of
        ``MINING_CHUNK`` shots; at low noise fewer are found) and the rest are plain shots.
        The hard shots come first.
        """
        sampler = self.dem.compile_sampler(seed=seed)
        want = int(round(shots * hard_fraction))
        kept_events, kept_errors, found = [], [], 0
        for _ in range(MAX_MINING_CHUNKS if want > 0 else 0):
            events, obs, errors = sampler.sample(MINING_CHUNK, return_errors=True)
            wrong = np.any(self.matching.decode_batch(events) != obs, axis=1)
            index = np.flatnonzero(wrong)[:want - found]
            kept_events.append(events[index])
            kept_errors.append(errors[index])
            found += len(index)
            if found >= want:
                break
        events, _, errors = sampler.sample(shots - found, return_errors=True)
        if found:
            events = np.concatenate(kept_events + [events])
            errors = np.concatenate(kept_errors + [errors])
        return events, self.sites.labels(errors)


def union_classes(tasks: list[Task]) -> list[ClassKey]:
    """All mechanism classes of the tasks' DEMs, in the canonical order."""
    from qplane.decoder.labels import class_sort_key

    keys: set[ClassKey] = set()
    for task in tasks:
        dem = task.dem()
        keys |= set(mechanism_classes(dem, SyndromeGeometry.from_dem(dem)))
    return sorted(keys, key=class_sort_key)


# Worker-process state, set once per process by _init_worker (never used in the parent).
_worker_sources: list[ShotSource] = []


def _init_worker(tasks: list[Task], classes: list[ClassKey]) -> None:
    import torch

    torch.set_num_threads(1)
    _worker_sources[:] = [ShotSource.build(distance=t.distance, rounds=t.rounds, basis=t.basis,
                                           p=t.p, classes=classes, dem_text=t.dem_text)
                          for t in tasks]


def _work(job: tuple[int, int, int, float]) -> tuple[int, np.ndarray, np.ndarray]:
    task_index, shots, seed, hard_fraction = job
    events, labels = _worker_sources[task_index].sample(shots=shots, seed=seed,
                                                        hard_fraction=hard_fraction)
    return task_index, np.packbits(events, axis=1), np.packbits(labels, axis=1)


class BatchStream:
    """Labelled batches for steps ``start..stop``, task ``step % len(tasks)`` at step ``step``.

    Args:
        tasks: the experiments; batches cycle through them.
        classes: the model's class list.
        batch_size: shots per batch.
        seed: run seed; batch ``step`` uses seed ``(seed * 2**24 + step) * 16 + rank``.
        workers: worker processes (0: generate in this process).
        rank: data-parallel rank (each rank sees different shots).
        hard_fraction: fraction of each batch mined from shots PyMatching gets wrong.
    """

    def __init__(self, *, tasks: list[Task], classes: list[ClassKey], batch_size: int, seed: int,
                 workers: int = 1, rank: int = 0, hard_fraction: float = 0.0):
        self.tasks = list(tasks)
        self.classes = list(classes)
        self.batch_size = batch_size
        self.seed = seed
        self.workers = workers
        self.rank = rank
        self.hard_fraction = hard_fraction
        self.sources = [ShotSource.build(distance=t.distance, rounds=t.rounds, basis=t.basis,
                                         p=t.p, classes=self.classes, dem_text=t.dem_text)
                        for t in self.tasks]

    def batch_seed(self, step: int) -> int:
        seed = ((self.seed << 24) + step) * 16 + self.rank
        if seed >= VALIDATION_SEED_BASE:
            raise ValueError("training seed space exhausted; use a smaller run seed")
        return seed

    def iterate(self, start: int, stop: int) -> Iterator[tuple[int, ShotSource, np.ndarray, np.ndarray]]:
        """Yield ``(step, source, events bool, labels uint8)`` for each step in order."""
        jobs = [(step % len(self.tasks), self.batch_size, self.batch_seed(step), self.hard_fraction)
                for step in range(start, stop)]
        if self.workers <= 0:
            for step, (ti, shots, seed, hard) in zip(range(start, stop), jobs):
                events, labels = self.sources[ti].sample(shots=shots, seed=seed, hard_fraction=hard)
                yield step, self.sources[ti], events, labels
            return
        ctx = multiprocessing.get_context("spawn")
        window = 2 * self.workers + 2  # bounded prefetch: workers never run far ahead
        with ctx.Pool(self.workers, initializer=_init_worker,
                      initargs=(self.tasks, self.classes)) as pool:
            pending: collections.deque = collections.deque()
            queued = 0
            for step in range(start, stop):
                while queued < len(jobs) and len(pending) < window:
                    pending.append(pool.apply_async(_work, (jobs[queued],)))
                    queued += 1
                ti, packed_events, packed_labels = pending.popleft().get()
                src = self.sources[ti]
                events = np.unpackbits(packed_events, axis=1,
                                       count=src.geometry.num_detectors).astype(bool)
                labels = np.unpackbits(packed_labels, axis=1, count=src.sites.num_sites)
                yield step, src, events, labels
